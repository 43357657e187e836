# Annotations that carry domain limits into the generated codecs, so the limits are enforced
# while decoding (before a value is materialized) and while validating the JSON form.
@0xac57ec4478ec3072;

# The largest UTF-8 byte length (without the NUL terminator) of a Text field, or of every
# element of a List(Text) field.
annotation textBytesMax @0xd3c8a4b5e0f1a201 (field) :UInt32;

# The largest element count of a List field.
annotation listLengthMax @0xd3c8a4b5e0f1a202 (field) :UInt32;
