import assert from "@std/assert";
import { checkOverlap, gluingConflicts } from "./sheaf.ts";

const map = (entries: Record<string, string>) => new Map(Object.entries(entries));

Deno.test("checkOverlap is consistent only when a, b and the claim agree on every key", () => {
  const a = map({ x: "1", y: "2" });
  const b = map({ x: "1", y: "3" });
  assert.deepEqual(checkOverlap(a, b, [{ key: "x", value: "1" }]), {
    consistent: true,
    conflicts: [],
  });
  assert.deepEqual(checkOverlap(a, b, []), { consistent: true, conflicts: [] });
  const verdict = checkOverlap(a, b, [
    { key: "y", value: "2" },
    { key: "x", value: "9" },
    { key: "z", value: "" },
  ]);
  assert.equal(verdict.consistent, false);
  assert.deepEqual(verdict.conflicts.map((c) => c.key), ["y", "x", "z"]);
  assert.deepEqual(verdict.conflicts[2], {
    key: "z",
    valueA: "",
    valueB: "",
    valueClaimed: "",
    presentInA: false,
    presentInB: false,
  });
});

Deno.test("gluingConflicts: a and b must agree (both absent agrees), the claim may differ", () => {
  const a = map({ x: "1", y: "2", only: "a" });
  const b = map({ x: "1", y: "3" });
  const overlap = [
    { key: "x", value: "new" },
    { key: "y", value: "2" },
    { key: "only", value: "a" },
    { key: "none", value: "n" },
  ];
  const conflicts = gluingConflicts(a, b, overlap);
  assert.deepEqual(conflicts.map((c) => [c.key, c.presentInA, c.presentInB]), [
    ["y", true, true],
    ["only", true, false],
  ]);
});
