# The RPC envelope: every binary call is one framed RpcRequest, answered by one framed
# RpcResponse. The params and result pointers hold the method's <Method>Params and
# <Method>Result structs.
@0xe2e792ee46955a3d;

struct RpcRequest {
  requestId @0 :UInt64;
  methodName @1 :Text;
  params @2 :AnyPointer;
}

struct RpcResponse {
  requestId @0 :UInt64;
  union {
    result @1 :AnyPointer;
    error @2 :RpcError;
  }
}

struct RpcError {
  code @0 :Text;
  message @1 :Text;
  details @2 :Text; # JSON text, "" if none.
}
