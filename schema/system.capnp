# The system.* methods: introspection of the frozen method set, pool and limits, and echo.
@0xe09561f2da4865f3;

struct SystemMethodsParams {}

struct MethodInfo {
  name @0 :Text;
  id @1 :UInt32;
  requestBytesMax @2 :UInt64;
  mutating @3 :Bool;
}

struct SystemMethodsResult {
  methods @0 :List(MethodInfo);
}

struct SystemPoolParams {}

struct PoolClass {
  blockSizeBytes @0 :UInt64;
  blocksTotal @1 :UInt64;
  blocksInUse @2 :UInt64;
  blocksInUseHighWatermark @3 :UInt64;
  allocTotal @4 :UInt64;
  allocFailuresTotal @5 :UInt64;
  bytesRequestedInUse @6 :UInt64;
}

struct SystemPoolResult {
  regionBytes @0 :UInt64;
  classes @1 :List(PoolClass);
}

struct SystemConfigParams {}

struct SystemConfigResult {
  maxPropertiesPerOverlap @0 :UInt32;
  messageBytesMax @1 :UInt64;
  poolBytes @2 :UInt64;
  profile @3 :Text;
  rpcTimeoutMsMax @4 :UInt32;
  keyBytesMax @5 :UInt32;
  valueBytesMax @6 :UInt32;
  propertiesPerWorknodeMax @7 :UInt32;
}

struct SystemEchoParams {
  payload @0 :Data;
}

struct SystemEchoResult {
  payload @0 :Data;
}
