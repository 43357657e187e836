# Worknodes: keyed records of properties with a version, and the worknode.* methods.
@0xc567595572fb3878;

using L = import "annotations.capnp";

struct Property {
  key @0 :Text $L.textBytesMax(256);
  value @1 :Text $L.textBytesMax(8192);
}

struct Worknode {
  id @0 :Text $L.textBytesMax(256);
  kind @1 :Text $L.textBytesMax(256);
  properties @2 :List(Property) $L.listLengthMax(4096);
  version @3 :UInt64;
  createdAtMs @4 :Int64;
  updatedAtMs @5 :Int64;
}

struct WorknodeCreateParams {
  kind @0 :Text $L.textBytesMax(256);
  properties @1 :List(Property) $L.listLengthMax(4096);
  id @2 :Text $L.textBytesMax(256); # "" = the server generates one.
}

struct WorknodeCreateResult {
  id @0 :Text;
  version @1 :UInt64;
}

struct WorknodeGetParams {
  id @0 :Text $L.textBytesMax(256);
}

struct WorknodeGetResult {
  worknode @0 :Worknode;
}

struct WorknodeUpdateParams {
  id @0 :Text $L.textBytesMax(256);
  expectedVersion @1 :UInt64;
  set @2 :List(Property) $L.listLengthMax(4096);
  remove @3 :List(Text) $L.listLengthMax(4096) $L.textBytesMax(256);
}

struct WorknodeUpdateResult {
  version @0 :UInt64;
}

struct WorknodeDeleteParams {
  id @0 :Text $L.textBytesMax(256);
  expectedVersion @1 :UInt64;
}

struct WorknodeDeleteResult {}

struct WorknodeListParams {
  kind @0 :Text $L.textBytesMax(256); # "" = any kind.
  cursor @1 :Text $L.textBytesMax(1024); # "" = from the start.
  limit @2 :UInt32; # 0 = the default (100); at most 1000.
}

struct WorknodeListResult {
  worknodes @0 :List(Worknode);
  nextCursor @1 :Text; # "" = the end.
}
