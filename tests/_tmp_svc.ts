import { startService } from "../server/service.ts";
import { fixedPlan } from "../tests/_plan.ts";
const dataDir = await Deno.makeTempDir();
const classes = [{ blockSizeBytes: 4096, blockCount: 8 }, { blockSizeBytes: 2 << 20, blockCount: 4 }];
const svc = await startService({ port: 0, hostname: "127.0.0.1", dataDir, plaintextPort: 0, rpcTimeoutMsMax: 5000 }, fixedPlan(classes), { store: null, quiet: true });
console.log(JSON.stringify({ port: svc.port, plain: svc.plaintextPort, ca: svc.caPath }));
await new Promise((r) => Deno.addSignalListener("SIGTERM", r));
await svc.shutdown();
