# Sheaf overlaps: what two worknodes claim about the keys they share, checked and glued.
@0x97944c881c35b857;

using L = import "annotations.capnp";
using W = import "worknode.capnp";

struct SheafOverlapMessage {
  a @0 :Text $L.textBytesMax(256);
  b @1 :Text $L.textBytesMax(256);
  # The overlap's claimed value per shared key; at most maxPropertiesPerOverlap (boot plan),
  # enforced through ReadLimits.listLengthMax by the caller.
  properties @2 :List(W.Property) $L.listLengthMax(4096);
}

struct Conflict {
  key @0 :Text;
  valueA @1 :Text;
  valueB @2 :Text;
  valueClaimed @3 :Text;
  presentInA @4 :Bool;
  presentInB @5 :Bool;
}

struct SheafOverlapResult {
  consistent @0 :Bool;
  conflicts @1 :List(Conflict);
}

struct SheafGlueParams {
  a @0 :Text $L.textBytesMax(256);
  b @1 :Text $L.textBytesMax(256);
  expectedVersionA @2 :UInt64;
  expectedVersionB @3 :UInt64;
  properties @4 :List(W.Property) $L.listLengthMax(4096);
  resolve @5 :Bool;
}

struct SheafGlueResult {
  versionA @0 :UInt64;
  versionB @1 :UInt64;
}
