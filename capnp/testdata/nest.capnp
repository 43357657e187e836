# Test-only schema: a recursive struct for nesting-depth and pointer-cycle tests, and a
# struct list for the zero-sized-element amplification test.
@0x9690ee5cd5a6d9af;

struct Nest {
  child @0 :Nest;
  value @1 :UInt32;
}

struct Empty {}

struct Holder {
  items @0 :List(Empty);
  names @1 :List(Text);
  flag @2 :Bool;
  count @3 :Int64;
}
