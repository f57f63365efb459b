#!/usr/bin/env python3
"""SBE codec generator for tensorpool (Python 3 standard library only).

Reads SBE message-schema XML files and writes, for each schema with package `a.b.<pkg>`:

  <out>/tp_sbe_<pkg>.h       static inline C11 codecs: constants, enums, one struct per message
                             and group entry, encode / decode / group iterators
  <out>/tp_sbe_<pkg>_meta.h  metadata tables for the generic printer (included by codec.c only)
  <out>/tp_sbe_registry.h    every schema's metadata in one table (included by codec.c only)

The output is deterministic (no timestamps, schema order by id, declaration order inside), so
`python3 tools/sbe_gen.py --out /tmp/x schemas/*.xml && diff -r /tmp/x src/codec/gen` is empty
when the committed files are current. The layout rules are those of LAYOUT.md §1; the quirks of
the tensorpool schemas handled here:

  * join-barrier-schema.xml uses the `sbe:` prefix without declaring it, and `<message>` without
    a prefix: the namespace is injected before parsing and elements are matched by local name;
  * discovery-schema.xml declares group members `<field type="varAsciiEncoding">`: a field whose
    type is a var-data composite is var data (DISCOVERY §4.3: group blockLength 0);
  * a `length` attribute on a <field> is not an array length (LAYOUT §1.4); arrays come from
    `<type length="N">`; an explicit message `blockLength` wins over the computed one;
  * `presence="constant"` takes no bytes; a field-level `nullValue` overrides the type default.
"""

import argparse
import os
import re
import sys
import xml.etree.ElementTree as ET

SBE_NS = "http://fixprotocol.io/2016/sbe"

# primitive -> (size, C type, endian.h accessor suffix, metadata enum, SBE default null)
PRIMS = {
    "char": (1, "char", "u8", "TP_SBE_CHAR", 0),
    "int8": (1, "int8_t", "i8", "TP_SBE_INT8", -(2**7)),
    "uint8": (1, "uint8_t", "u8", "TP_SBE_UINT8", 2**8 - 1),
    "int16": (2, "int16_t", "i16", "TP_SBE_INT16", -(2**15)),
    "uint16": (2, "uint16_t", "u16", "TP_SBE_UINT16", 2**16 - 1),
    "int32": (4, "int32_t", "i32", "TP_SBE_INT32", -(2**31)),
    "uint32": (4, "uint32_t", "u32", "TP_SBE_UINT32", 2**32 - 1),
    "int64": (8, "int64_t", "i64", "TP_SBE_INT64", -(2**63)),
    "uint64": (8, "uint64_t", "u64", "TP_SBE_UINT64", 2**64 - 1),
    "float": (4, "float", "f32", "TP_SBE_FLOAT", None),
    "double": (8, "double", "f64", "TP_SBE_DOUBLE", None),
}

DEFAULT_VAR_MAX = 2**30  # SBE's default maxValue of a u32 var-data length (LAYOUT §1.7)


class SchemaError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Model


class Enum:
    def __init__(self, name, encoding, values):
        self.name, self.encoding, self.values = name, encoding, values  # values: [(name, int)]


class Field:
    """A fixed field: primitive (scalar or array), enum, or constant."""

    def __init__(self, name, fid, type_name, prim, array_length, presence, null_value,
                 constant, enum):
        self.name, self.id, self.type_name = name, fid, type_name
        self.prim, self.array_length, self.presence = prim, array_length, presence
        self.null_value, self.constant, self.enum = null_value, constant, enum
        self.offset = 0

    @property
    def size(self):
        return 0 if self.presence == "constant" else PRIMS[self.prim][0] * self.array_length


class Data:
    def __init__(self, name, did, type_name, max_length):
        self.name, self.id, self.type_name, self.max_length = name, did, type_name, max_length


class Block:
    """A message root block or a group entry."""

    def __init__(self, name, bid, fields, groups, datas, explicit_block_length):
        self.name, self.id = name, bid
        self.fields, self.groups, self.datas = fields, groups, datas
        offset = 0
        for f in fields:
            f.offset = offset
            offset += f.size
        self.block_length = offset
        if explicit_block_length is not None:
            if explicit_block_length < offset:
                raise SchemaError("%s: blockLength %d < fields' %d" % (name, explicit_block_length,
                                                                       offset))
            self.block_length = explicit_block_length


class Message:
    def __init__(self, name, tid, body):
        self.name, self.id, self.body = name, tid, body


class Schema:
    def __init__(self, path, package, sid, version):
        self.path, self.package, self.id, self.version = path, package, sid, version
        self.short = package.split(".")[-1]
        self.enums, self.types, self.composites, self.messages = {}, {}, {}, []


# ---------------------------------------------------------------------------------------------
# Parsing


def local(tag):
    return tag.rsplit("}", 1)[-1]


def parse_int(text, what):
    try:
        return int(text.strip(), 0)
    except (ValueError, AttributeError):
        raise SchemaError("%s: not an integer: %r" % (what, text))


def read_xml(path):
    with open(path, "r", encoding="utf-8") as f:
        text = f.read()
    # join-barrier-schema.xml uses sbe: without declaring it; declare it for the parser.
    if "xmlns:sbe" not in text:
        text = re.sub(r"<sbe:messageSchema\b", '<sbe:messageSchema xmlns:sbe="%s"' % SBE_NS,
                      text, count=1)
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)  # str input must not declare an encoding
    return ET.fromstring(text)


def parse_schema(path):
    root = read_xml(path)
    if local(root.tag) != "messageSchema":
        raise SchemaError("%s: root is not messageSchema" % path)
    if root.get("byteOrder", "littleEndian") != "littleEndian":
        raise SchemaError("%s: only littleEndian schemas are supported" % path)
    s = Schema(path, root.get("package"), parse_int(root.get("id"), "schema id"),
               parse_int(root.get("version", "0"), "schema version"))
    for types in (e for e in root if local(e.tag) == "types"):
        for t in types:
            kind, name = local(t.tag), t.get("name")
            if kind == "type":
                s.types[name] = t
            elif kind == "enum":
                values = [(v.get("name"), parse_int(v.text, name)) for v in t
                          if local(v.tag) == "validValue"]
                s.enums[name] = Enum(name, t.get("encodingType"), values)
            elif kind == "composite":
                s.composites[name] = t
            elif isinstance(t.tag, str):
                raise SchemaError("%s: unsupported type kind <%s>" % (path, kind))
    check_header(s)
    for m in (e for e in root if local(e.tag) == "message"):
        body = parse_block(s, m, m.get("name"), parse_int(m.get("id"), "message id"))
        s.messages.append(Message(m.get("name"), body.id, body))
    return s


def check_header(s):
    hdr = s.composites.get("messageHeader")
    want = [("blockLength", "uint16"), ("templateId", "uint16"), ("schemaId", "uint16"),
            ("version", "uint16")]
    got = [(t.get("name"), t.get("primitiveType")) for t in hdr] if hdr is not None else None
    if got != want:
        raise SchemaError("%s: messageHeader must be the standard 8-byte header" % s.path)


def var_data_max(s, type_name):
    """maxValue of a var-data composite's length, or None when the type is not var data."""
    c = s.composites.get(type_name)
    if c is None:
        return None
    parts = {t.get("name"): t for t in c}
    if set(parts) != {"length", "varData"}:
        return None
    if parts["length"].get("primitiveType") != "uint32":
        raise SchemaError("%s: only u32 var-data lengths are supported" % type_name)
    mv = parts["length"].get("maxValue")
    return parse_int(mv, type_name) if mv is not None else DEFAULT_VAR_MAX


def check_group_dimension(s, g):
    dim = s.composites.get(g.get("dimensionType", "groupSizeEncoding"))
    got = [(t.get("name"), t.get("primitiveType")) for t in dim] if dim is not None else None
    if got != [("blockLength", "uint16"), ("numInGroup", "uint16")]:
        raise SchemaError("group %s: dimension must be groupSizeEncoding" % g.get("name"))


def parse_block(s, el, name, bid):
    fields, groups, datas = [], [], []
    explicit = el.get("blockLength")
    for c in el:
        kind = local(c.tag) if isinstance(c.tag, str) else None
        if kind == "field":
            vmax = var_data_max(s, c.get("type"))
            if vmax is not None:  # DISCOVERY §4.3: a field of var-data type is var data
                datas.append(Data(c.get("name"), parse_int(c.get("id"), "id"), c.get("type"), vmax))
                continue
            if groups or datas:
                raise SchemaError("%s: field %s after a group or var data" % (name, c.get("name")))
            fields.append(parse_field(s, c))
        elif kind == "group":
            if datas:
                raise SchemaError("%s: group %s after var data" % (name, c.get("name")))
            check_group_dimension(s, c)
            groups.append(parse_block(s, c, c.get("name"), parse_int(c.get("id"), "group id")))
        elif kind == "data":
            vmax = var_data_max(s, c.get("type"))
            if vmax is None:
                raise SchemaError("%s: data %s: unknown var-data type" % (name, c.get("name")))
            datas.append(Data(c.get("name"), parse_int(c.get("id"), "id"), c.get("type"), vmax))
    return Block(name, bid, fields, groups, datas,
                 parse_int(explicit, "blockLength") if explicit is not None else None)


def parse_field(s, c):
    name, tname = c.get("name"), c.get("type")
    # Not used by the tensorpool schemas; refuse rather than lay them out wrongly.
    for attr in ("offset", "sinceVersion"):
        if c.get(attr) not in (None, "0"):
            raise SchemaError("field %s: attribute %s is not supported" % (name, attr))
    fid = parse_int(c.get("id"), "field id")
    presence, null_text, constant, enum = "required", None, None, None
    array_length = 1
    if tname in PRIMS:
        prim = tname
    elif tname in s.enums:
        enum = s.enums[tname]
        prim = enum.encoding
    elif tname in s.types:
        t = s.types[tname]
        prim = t.get("primitiveType")
        presence = t.get("presence", "required")
        null_text = t.get("nullValue")
        array_length = parse_int(t.get("length", "1"), tname)
        if presence == "constant":
            constant = (t.text or "").strip()
    else:
        raise SchemaError("field %s: unsupported type %s" % (name, tname))
    if prim not in PRIMS:
        raise SchemaError("field %s: unsupported primitive %s" % (name, prim))
    presence = c.get("presence", presence)
    if presence == "constant" and constant is None:
        constant = c.get("valueRef") or (c.text or "").strip()
    null_text = c.get("nullValue", null_text)  # field-level nullValue wins (LAYOUT §7.3)
    null_value = None
    if presence == "optional":
        # Enums and primitives alike default to the encoding's SBE null (LAYOUT §1.11).
        null_value = parse_int(null_text, name) if null_text is not None else PRIMS[prim][4]
        if null_value is None:
            raise SchemaError("field %s: optional %s needs a nullValue" % (name, prim))
    if presence == "optional" and array_length != 1:
        raise SchemaError("field %s: optional arrays are not supported" % name)
    return Field(name, fid, tname, prim, array_length, presence, null_value, constant, enum)


# ---------------------------------------------------------------------------------------------
# Naming


def snake(name):
    s1 = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s1).lower()


def c_int(value, prim):
    """A C constant of the primitive's type."""
    size, ctype = PRIMS[prim][0], PRIMS[prim][1]
    if prim.startswith("uint") or prim == "char":
        return "UINT64_C(%d)" % value if size == 8 else "%du" % value
    if size == 8:
        return "INT64_MIN" if value == -(2**63) else "INT64_C(%d)" % value
    if size == 4 and value == -(2**31):
        return "INT32_MIN"
    return "(%s)%d" % (ctype, value) if value < 0 else "%d" % value


def null_bits(value, prim):
    size = PRIMS[prim][0]
    return value & ((1 << (8 * size)) - 1)


# ---------------------------------------------------------------------------------------------
# API header emission


class Out:
    def __init__(self):
        self.lines = []

    def __call__(self, text=""):
        self.lines.extend(text.split("\n") if text else [""])

    def text(self):
        return "\n".join(line.rstrip() for line in self.lines).rstrip("\n") + "\n"


API_DOC = """\
/*
 * Generated by tools/sbe_gen.py from schemas/{file} — DO NOT EDIT; run `make regen`.
 * Schema {id} `{package}` version {version}, little-endian (LAYOUT §1).
 *
 * API (P = tp_sbe_{short}_<message>, e.g. tp_sbe_{short}_{example}):
 *
 *   P_SCHEMA_ID, P_SCHEMA_VERSION, P_TEMPLATE_ID, P_BLOCK_LENGTH, P_NAME
 *   P_t                 the message as a C struct: fixed fields (snake_case, raw integers; enums
 *                       are raw numbers, WIRE W-190), var data as tp_sbe_data_t views, groups as
 *                       tp_sbe_group_t. The same struct is encoder input and decoder output.
 *   P_encoded_length(m) bytes P_encode() will write (header included).
 *   P_encode(buf, cap, m)
 *                       writes header + block (zeroed first, so padding is 0) + groups + var
 *                       data in schema order; returns the length or -1 (TP_ETOOBIG: capacity,
 *                       TP_EINVAL: var data over its maxValue, a group without entries).
 *   P_decode(buf, len, m)
 *                       validates the WHOLE message before returning (header, schemaId then
 *                       templateId, version <= P_SCHEMA_VERSION, header blockLength >=
 *                       P_BLOCK_LENGTH, every group header / entry / var-data length against the
 *                       buffer end) and fills m; returns the message length or -1
 *                       (TP_EMALFORMED, TP_EUNKNOWN_MSG, TP_EVERSION). A longer block of the same
 *                       version is read by its known prefix; what follows is located through the
 *                       header's blockLength (SBE extension rule). Var data and groups in m
 *                       point into buf.
 *   P_encode_body(), P_decode_body(buf, len, block_length, m)
 *                       the same without the 8-byte message header (SHM superblock, slot header).
 *   P_has_<field>(m)    optional fields: false when the field holds its null value
 *                       (P_<FIELD>_NULL_VALUE; field-level nullValue honoured, WIRE W-78).
 *   P_<group>_t, P_<group>_next(&cursor, &entry)
 *                       iterate a decoded group: copy m.<group> into a cursor and call _next
 *                       until it returns 0 (1 = entry decoded; nested groups the same way).
 *                       To encode, set m.<group> = tp_sbe_entries(array, count).
 *   tp_sbe_{short}_<enum>_name(v)   schema name of an enum number, NULL when undefined.
 */"""


class ApiEmitter:
    def __init__(self, schema):
        self.s = schema
        self.o = Out()
        self.up = "TP_SBE_" + schema.short.upper()

    def emit(self):
        s, o = self.s, self.o
        example = snake(s.messages[0].name) if s.messages else "message"
        o(API_DOC.format(file=os.path.basename(s.path), id=s.id, package=s.package,
                         version=s.version, short=s.short, example=example))
        guard = "TP_CODEC_GEN_TP_SBE_%s_H" % s.short.upper()
        o("#ifndef %s" % guard)
        o("#define %s" % guard)
        o()
        o('#include "codec/sbe.h"')
        o()
        o("#define %s_SCHEMA_ID %d" % (self.up, s.id))
        o("#define %s_SCHEMA_VERSION %d" % (self.up, s.version))
        o()
        for name in s.enums:
            self.emit_enum(s.enums[name])
        for m in s.messages:
            self.emit_message(m)
        o("#endif")
        return o.text()

    def emit_enum(self, e):
        o = self.o
        pfx = "%s_%s" % (self.up, snake(e.name).upper())
        o("/* enum %s (%s) */" % (e.name, e.encoding))
        o("enum {")
        for vname, value in e.values:
            o("    %s_%s = %d," % (pfx, vname, value))
        null = PRIMS[e.encoding][4]
        if not -(2**31) <= null < 2**31:
            raise SchemaError("enum %s: encoding %s does not fit a C enum" % (e.name, e.encoding))
        o("    %s_NULL_VALUE = %s" % (pfx, "INT32_MIN" if null == -(2**31) else "%d" % null))
        o("};")
        o()
        o("static inline const char *tp_sbe_%s_%s_name(int64_t v)" % (self.s.short, snake(e.name)))
        o("{")
        o("    switch (v) {")
        for vname, value in e.values:
            o('    case %d: return "%s";' % (value, vname))
        o("    default: return NULL;")
        o("    }")
        o("}")
        o()

    # -- structs -----------------------------------------------------------------------------

    def emit_struct(self, block, cname, doc):
        o = self.o
        for g in block.groups:
            self.emit_struct(g, "%s_%s" % (cname, snake(g.name)),
                             "group %s (id %d) entry of %s" % (g.name, g.id, block.name))
        o("/* %s */" % doc)
        o("typedef struct %s {" % cname)
        members = 0
        for f in block.fields:
            if f.presence == "constant":
                continue
            arr = "[%d]" % f.array_length if f.array_length > 1 else ""
            o("    %s %s%s; /* %s @%d%s */" % (PRIMS[f.prim][1], snake(f.name), arr, f.name,
                                              f.offset, ", optional" if f.presence == "optional"
                                              else ""))
            members += 1
        for g in block.groups:
            o("    tp_sbe_group_t %s; /* group %s: %s_%s_t entries */" % (
                snake(g.name), g.name, cname, snake(g.name)))
            members += 1
        for d in block.datas:
            o("    tp_sbe_data_t %s; /* var data %s, max %d */" % (snake(d.name), d.name,
                                                                  d.max_length))
            members += 1
        if members == 0:
            o("    uint8_t unused_; /* no members; ISO C needs one */")
        o("} %s_t;" % cname)
        o()

    def emit_constants(self, block, cname):
        o = self.o
        up = cname.upper()
        for f in block.fields:
            if f.presence == "constant":
                o("#define %s_%s %s /* constant %s: 0 bytes on the wire */" % (
                    up, snake(f.name).upper(), f.constant, f.name))
            elif f.presence == "optional":
                o("#define %s_%s_NULL_VALUE %s" % (up, snake(f.name).upper(),
                                                   c_int(f.null_value, f.prim)))
        for g in block.groups:
            o("#define %s_%s_BLOCK_LENGTH %d" % (up, snake(g.name).upper(), g.block_length))
            self.emit_constants(g, "%s_%s" % (cname, snake(g.name)))
        for d in block.datas:
            o("#define %s_%s_MAX_LENGTH %du" % (up, snake(d.name).upper(), d.max_length))

    def emit_has(self, block, cname):
        o = self.o
        for f in block.fields:
            if f.presence == "optional":
                o("static inline bool %s_has_%s(const %s_t *m)" % (cname, snake(f.name), cname))
                o("{")
                o("    return m->%s != %s_%s_NULL_VALUE;" % (snake(f.name), cname.upper(),
                                                            snake(f.name).upper()))
                o("}")
                o()
        for g in block.groups:
            self.emit_has(g, "%s_%s" % (cname, snake(g.name)))

    # -- codec functions ---------------------------------------------------------------------

    def emit_block_codec(self, block, cname):
        """Emits cname__put / cname__get (and, for groups, the iterator) children first."""
        o = self.o
        for g in block.groups:
            self.emit_block_codec(g, "%s_%s" % (cname, snake(g.name)))
            self.emit_next(g, "%s_%s" % (cname, snake(g.name)))
        # encode
        o("static inline int %s__put(uint8_t *buf, size_t cap, size_t *pos, const %s_t *m)" % (
            cname, cname))
        o("{")
        o("    uint8_t *p;")
        if not block.fields and not block.groups and not block.datas:
            o("    (void)m;")
        o("    if (tp_sbe_room(cap, *pos, %d) < 0) return -1;" % block.block_length)
        o("    p = buf + *pos;")
        if block.block_length:
            o("    memset(p, 0, %d);" % block.block_length)
        else:
            o("    (void)p;")
        for f in block.fields:
            if f.presence == "constant":
                continue
            acc = PRIMS[f.prim][2]
            if f.array_length > 1:
                o("    for (int k = 0; k < %d; k++) tp_put_%s(p + %d + %d * k, m->%s[k]);" % (
                    f.array_length, acc, f.offset, PRIMS[f.prim][0], snake(f.name)))
            elif f.prim == "char":
                o("    tp_put_u8(p + %d, (uint8_t)m->%s);" % (f.offset, snake(f.name)))
            else:
                o("    tp_put_%s(p + %d, m->%s);" % (acc, f.offset, snake(f.name)))
        o("    *pos += %d;" % block.block_length)
        for g in block.groups:
            gname = "%s_%s" % (cname, snake(g.name))
            o("    if (tp_sbe_group_put(buf, cap, pos, %d, &m->%s) < 0) return tp_err_push(\"%s\");"
              % (g.block_length, snake(g.name), g.name))
            o("    for (uint16_t i = 0; i < m->%s.count; i++) {" % snake(g.name))
            o("        const %s_t *e = (const %s_t *)m->%s.entries + i;" % (gname, gname,
                                                                          snake(g.name)))
            o("        if (%s__put(buf, cap, pos, e) < 0) return tp_err_push(\"%s[%%u]\", i);" % (
                gname, g.name))
            o("    }")
        for d in block.datas:
            o("    if (tp_sbe_data_put(buf, cap, pos, %du, &m->%s) < 0) return tp_err_push(\"%s\");"
              % (d.max_length, snake(d.name), d.name))
        o("    return 0;")
        o("}")
        o()
        # decode: the caller checked block_length >= the known block length
        o("static inline int %s__get(const uint8_t *buf, size_t len, size_t *pos, size_t "
          "block_length, %s_t *m)" % (cname, cname))
        o("{")
        o("    const uint8_t *p;")
        if not block.fields and not block.groups and not block.datas:
            o("    (void)m;")
        # Defined on every path (compilers cannot see that -1 leaves nothing to read).
        o("    memset(m, 0, sizeof *m);")
        o("    if (tp_sbe_need(len, *pos, block_length) < 0) return -1;")
        o("    p = buf + *pos;")
        if not any(f.presence != "constant" for f in block.fields):
            o("    (void)p;")
        for f in block.fields:
            if f.presence == "constant":
                continue
            acc = PRIMS[f.prim][2]
            if f.array_length > 1:
                o("    for (int k = 0; k < %d; k++) m->%s[k] = tp_get_%s(p + %d + %d * k);" % (
                    f.array_length, snake(f.name), acc, f.offset, PRIMS[f.prim][0]))
            elif f.prim == "char":
                o("    m->%s = (char)tp_get_u8(p + %d);" % (snake(f.name), f.offset))
            else:
                o("    m->%s = tp_get_%s(p + %d);" % (snake(f.name), acc, f.offset))
        o("    *pos += block_length;")
        for g in block.groups:
            gname = "%s_%s" % (cname, snake(g.name))
            o("    if (tp_sbe_group_open(buf, len, pos, %d, &m->%s) < 0) return tp_err_push(\"%s\");"
              % (g.block_length, snake(g.name), g.name))
            o("    {")
            o("        tp_sbe_group_t it = m->%s;" % snake(g.name))
            o("        %s_t e;" % gname)
            o("        int r;")
            o("        while ((r = %s_next(&it, &e)) > 0) {}" % gname)
            o("        if (r < 0) return -1;")
            o("        *pos = it.pos;")
            o("    }")
        for d in block.datas:
            o("    if (tp_sbe_data_get(buf, len, pos, %du, &m->%s) < 0) return tp_err_push(\"%s\");"
              % (d.max_length, snake(d.name), d.name))
        o("    return 0;")
        o("}")
        o()

    def emit_next(self, g, gname):
        o = self.o
        o("/* Next entry of a decoded %s group: 1 = *e filled, 0 = no more, -1 = malformed. */"
          % g.name)
        o("static inline int %s_next(tp_sbe_group_t *g, %s_t *e)" % (gname, gname))
        o("{")
        o("    if (g->index >= g->count) return 0;")
        o("    if (%s__get(g->buf, g->end, &g->pos, g->block_length, e) < 0)" % gname)
        o('        return tp_err_push("%s[%%u]", g->index);' % g.name)
        o("    g->index++;")
        o("    return 1;")
        o("}")
        o()

    def emit_length(self, block, cname):
        """cname__length(m): encoded size of a block and everything after it."""
        o = self.o
        for g in block.groups:
            self.emit_length(g, "%s_%s" % (cname, snake(g.name)))
        o("static inline size_t %s__length(const %s_t *m)" % (cname, cname))
        o("{")
        o("    size_t n = %d;" % block.block_length)
        if not block.groups and not block.datas:
            o("    (void)m;")
        for g in block.groups:
            gname = "%s_%s" % (cname, snake(g.name))
            o("    n += TP_SBE_GROUP_HEADER_LENGTH;")
            o("    for (uint16_t i = 0; m->%s.entries && i < m->%s.count; i++)" % (
                snake(g.name), snake(g.name)))
            o("        n += %s__length((const %s_t *)m->%s.entries + i);" % (gname, gname,
                                                                          snake(g.name)))
        for d in block.datas:
            o("    n += TP_SBE_DATA_HEADER_LENGTH + (size_t)m->%s.length;" % snake(d.name))
        o("    return n;")
        o("}")
        o()

    def emit_message(self, m):
        o, s = self.o, self.s
        cname = "tp_sbe_%s_%s" % (s.short, snake(m.name))
        up = cname.upper()
        o("/* ==== %s: schema %d, template %d, block length %d %s */" % (
            m.name, s.id, m.id, m.body.block_length, "=" * max(0, 50 - len(m.name))))
        o()
        o("#define %s_SCHEMA_ID %d" % (up, s.id))
        o("#define %s_SCHEMA_VERSION %d" % (up, s.version))
        o("#define %s_TEMPLATE_ID %d" % (up, m.id))
        o("#define %s_BLOCK_LENGTH %d" % (up, m.body.block_length))
        o('#define %s_NAME "%s"' % (up, m.name))
        self.emit_constants(m.body, cname)
        o()
        self.emit_struct(m.body, cname, "%s (schema %d, template %d)" % (m.name, s.id, m.id))
        self.emit_has(m.body, cname)
        self.emit_length(m.body, cname)
        self.emit_block_codec(m.body, cname)
        o("static inline int64_t %s_encoded_length(const %s_t *m)" % (cname, cname))
        o("{")
        o("    return (int64_t)(TP_SBE_HEADER_LENGTH + %s__length(m));" % cname)
        o("}")
        o()
        o("static inline int64_t %s_encode_body(uint8_t *buf, size_t cap, const %s_t *m)" % (
            cname, cname))
        o("{")
        o("    size_t pos = 0;")
        o("    if (%s__put(buf, cap, &pos, m) < 0) return tp_err_push(\"%s\");" % (cname, m.name))
        o("    return (int64_t)pos;")
        o("}")
        o()
        o("static inline int64_t %s_encode(uint8_t *buf, size_t cap, const %s_t *m)" % (
            cname, cname))
        o("{")
        o("    tp_sbe_header_t h = { %d, %d, %d, %d };" % (m.body.block_length, m.id, s.id,
                                                          s.version))
        o("    size_t pos = TP_SBE_HEADER_LENGTH;")
        o("    if (tp_sbe_room(cap, 0, TP_SBE_HEADER_LENGTH) < 0) return tp_err_push(\"%s\");" %
          m.name)
        o("    tp_sbe_header_write(buf, &h);")
        o("    if (%s__put(buf, cap, &pos, m) < 0) return tp_err_push(\"%s\");" % (cname, m.name))
        o("    return (int64_t)pos;")
        o("}")
        o()
        o("static inline int64_t %s_decode_body(const uint8_t *buf, size_t len, size_t "
          "block_length, %s_t *m)" % (cname, cname))
        o("{")
        o("    size_t pos = 0;")
        o("    if (block_length < %d)" % m.body.block_length)
        o('        return tp_err_set(TP_EMALFORMED, "block length %%zu < %d", block_length);'
          % m.body.block_length)
        o("    if (%s__get(buf, len, &pos, block_length, m) < 0) return -1;" % cname)
        o("    return (int64_t)pos;")
        o("}")
        o()
        o("static inline int64_t %s_decode(const uint8_t *buf, size_t len, %s_t *m)" % (
            cname, cname))
        o("{")
        o("    tp_sbe_header_t h;")
        o("    size_t pos = TP_SBE_HEADER_LENGTH;")
        # No message-name context: the reason reads "truncated: need 48 bytes, have 20".
        o("    if (tp_sbe_header_check(buf, len, %d, %d, %d, %d, &h) < 0) return -1;"
          % (s.id, s.version, m.id, m.body.block_length))
        o("    if (%s__get(buf, len, &pos, h.block_length, m) < 0) return -1;" % cname)
        o("    return (int64_t)pos;")
        o("}")
        o()


# ---------------------------------------------------------------------------------------------
# Metadata header emission


def c_str(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


class MetaEmitter:
    def __init__(self, schema):
        self.s = schema
        self.o = Out()
        self.used_enums = []

    def collect_enums(self, block):
        for f in block.fields:
            if f.enum is not None and f.enum.name not in self.used_enums:
                self.used_enums.append(f.enum.name)
        for g in block.groups:
            self.collect_enums(g)

    def emit(self):
        s, o = self.s, self.o
        o("/*")
        o(" * Generated by tools/sbe_gen.py from schemas/%s — DO NOT EDIT; run `make regen`." %
          os.path.basename(s.path))
        o(" * Metadata of schema %d `%s` for the generic printer (codec/sbe_meta.h). Included by"
          % (s.id, s.package))
        o(" * codec.c only, through tp_sbe_registry.h.")
        o(" */")
        guard = "TP_CODEC_GEN_TP_SBE_%s_META_H" % s.short.upper()
        o("#ifndef %s" % guard)
        o("#define %s" % guard)
        o()
        o("#include <stdlib.h>")
        o()
        o('#include "codec/sbe_meta.h"')
        o('#include "codec/gen/tp_sbe_%s.h"' % s.short)
        o()
        for m in s.messages:
            self.collect_enums(m.body)
        for name in self.used_enums:
            e = s.enums[name]
            base = "tp_sbe_%s_%s__" % (s.short, snake(name))
            o("static const tp_sbe_enum_value_t %svalues[] = {" % base)
            for vname, value in e.values:
                o("    { %s, %d }," % (c_str(vname), value))
            o("};")
            o("static const tp_sbe_enum_meta_t %smeta = { %s, %s, %svalues, %d };" % (
                base, c_str(name), PRIMS[e.encoding][3], base, len(e.values)))
            o()
        names = []
        for m in s.messages:
            cname = "tp_sbe_%s_%s" % (s.short, snake(m.name))
            init = self.emit_block(m.body, cname)
            o("static int64_t %s__validate(const uint8_t *buf, size_t len)" % cname)
            o("{")
            o("    %s_t m;" % cname)
            o("    return %s_decode(buf, len, &m);" % cname)
            o("}")
            o()
            self.emit_reencode(m, cname)
            o("static const tp_sbe_message_meta_t %s__meta = {" % cname)
            o("    %d, %d, %d," % (s.id, s.version, m.id))
            o("    %s," % init)
            o("    %s__validate," % cname)
            o("    %s__reencode" % cname)
            o("};")
            o()
            names.append("&%s__meta" % cname)
        base = "tp_sbe_%s" % s.short
        o("static const tp_sbe_message_meta_t *const %s__messages[] = {" % base)
        for n in names:
            o("    %s," % n)
        o("};")
        o()
        o("static const tp_sbe_schema_meta_t %s__schema = {" % base)
        o("    %s, %d, %d, %s__messages, %d" % (c_str(s.package), s.id, s.version, base,
                                               len(names)))
        o("};")
        o()
        o("#endif")
        return o.text()

    def emit_collect(self, block, cname):
        """cname__collect / __release: decoded groups -> malloc'd entry arrays (and back)."""
        o = self.o
        for g in block.groups:
            if g.groups:
                self.emit_collect(g, "%s_%s" % (cname, snake(g.name)))
        o("static void %s__release(%s_t *m)" % (cname, cname))
        o("{")
        for g in block.groups:
            gname, member = "%s_%s" % (cname, snake(g.name)), snake(g.name)
            o("    if (m->%s.entries) {" % member)
            if g.groups:
                o("        for (uint16_t i = 0; i < m->%s.count; i++)" % member)
                o("            %s__release((%s_t *)m->%s.entries + i);" % (gname, gname, member))
            o("        free((void *)m->%s.entries);" % member)
            o("        m->%s.entries = NULL;" % member)
            o("    }")
        o("}")
        o()
        o("static int %s__collect(%s_t *m)" % (cname, cname))
        o("{")
        for g in block.groups:
            gname, member = "%s_%s" % (cname, snake(g.name)), snake(g.name)
            o("    {")
            o("        tp_sbe_group_t it = m->%s;" % member)
            o("        %s_t *arr = calloc(it.count ? it.count : 1, sizeof *arr);" % gname)
            o('        if (!arr) return tp_err_set(TP_ENOMEM, "%s: out of memory");' % g.name)
            o("        m->%s.entries = arr;" % member)
            o("        for (uint16_t i = 0; i < it.count; i++) {")
            o("            if (%s_next(&it, &arr[i]) <= 0) return -1;" % gname)
            if g.groups:
                o("            if (%s__collect(&arr[i]) < 0) return -1;" % gname)
            o("        }")
            o("    }")
        o("    return 0;")
        o("}")
        o()

    def emit_reencode(self, m, cname):
        """cname__reencode: decode, then encode the struct again (canonical form)."""
        o = self.o
        if m.body.groups:
            self.emit_collect(m.body, cname)
        o("static int64_t %s__reencode(const uint8_t *buf, size_t len, uint8_t *out, size_t cap)"
          % cname)
        o("{")
        o("    %s_t m;" % cname)
        o("    int64_t n;")
        o("    if (%s_decode(buf, len, &m) < 0) return -1;" % cname)
        if m.body.groups:
            o("    if (%s__collect(&m) < 0) {" % cname)
            o("        %s__release(&m);" % cname)
            o("        return -1;")
            o("    }")
        o("    n = %s_encode(out, cap, &m);" % cname)
        if m.body.groups:
            o("    %s__release(&m);" % cname)
        o("    return n;")
        o("}")
        o()

    def emit_block(self, block, cname):
        """Emits the arrays of a block (children first); returns its initializer."""
        o = self.o
        group_inits = [self.emit_block(g, "%s_%s" % (cname, snake(g.name))) for g in block.groups]
        fields = datas = groups = "NULL"
        if block.fields:
            fields = "%s__fields" % cname
            o("static const tp_sbe_field_meta_t %s[] = {" % fields)
            for f in block.fields:
                enum = "&tp_sbe_%s_%s__meta" % (self.s.short, snake(f.enum.name)) if f.enum else \
                    "NULL"
                presence = {"required": "TP_SBE_REQUIRED", "optional": "TP_SBE_OPTIONAL",
                            "constant": "TP_SBE_CONSTANT"}[f.presence]
                nb = "UINT64_C(%d)" % null_bits(f.null_value, f.prim) if f.null_value is not None \
                    else "0"
                const = c_str(f.constant) if f.constant is not None else "NULL"
                o("    { %s, %d, %s, %s, %d, %d, %s, %s, %s, %s }," % (
                    c_str(f.name), f.id, c_str(f.type_name), PRIMS[f.prim][3], f.offset,
                    f.array_length, presence, nb, const, enum))
            o("};")
        if block.groups:
            groups = "%s__groups" % cname
            o("static const tp_sbe_block_meta_t %s[] = {" % groups)
            for init in group_inits:
                o("    %s," % init)
            o("};")
        if block.datas:
            datas = "%s__data" % cname
            o("static const tp_sbe_data_meta_t %s[] = {" % datas)
            for d in block.datas:
                o("    { %s, %d, %s, %du }," % (c_str(d.name), d.id, c_str(d.type_name),
                                               d.max_length))
            o("};")
        return "{ %s, %d, %d, %s, %d, %s, %d, %s, %d }" % (
            c_str(block.name), block.id, block.block_length, fields, len(block.fields), groups,
            len(block.groups), datas, len(block.datas))


def registry(schemas):
    o = Out()
    o("/*")
    o(" * Generated by tools/sbe_gen.py — DO NOT EDIT; run `make regen`.")
    o(" * Every generated schema's metadata, by schema id. Included by codec.c only.")
    o(" */")
    o("#ifndef TP_CODEC_GEN_TP_SBE_REGISTRY_H")
    o("#define TP_CODEC_GEN_TP_SBE_REGISTRY_H")
    o()
    for s in schemas:
        o('#include "codec/gen/tp_sbe_%s_meta.h"' % s.short)
    o()
    o("static const tp_sbe_schema_meta_t *const tp_sbe_registry[] = {")
    for s in schemas:
        o("    &tp_sbe_%s__schema," % s.short)
    o("};")
    o()
    o("#define TP_SBE_REGISTRY_COUNT %d" % len(schemas))
    o()
    o("#endif")
    return o.text()


# ---------------------------------------------------------------------------------------------


def generate(paths):
    schemas = sorted((parse_schema(p) for p in paths), key=lambda s: s.id)
    seen = {}
    for s in schemas:
        if s.short in seen or s.id in seen:
            raise SchemaError("%s: duplicate schema %s / %d" % (s.path, s.short, s.id))
        seen[s.short] = seen[s.id] = s
    files = {}
    for s in schemas:
        files["tp_sbe_%s.h" % s.short] = ApiEmitter(s).emit()
        files["tp_sbe_%s_meta.h" % s.short] = MetaEmitter(s).emit()
    files["tp_sbe_registry.h"] = registry(schemas)
    return files


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Generate tensorpool's C11 SBE codecs (static inline flyweights plus "
                    "metadata tables) from SBE message-schema XML files.")
    ap.add_argument("--out", required=True, metavar="DIR",
                    help="output directory for the generated headers (created if missing)")
    ap.add_argument("schemas", nargs="+", metavar="SCHEMA.xml", help="SBE schema files")
    args = ap.parse_args(argv)
    try:
        files = generate(args.schemas)
    except (SchemaError, ET.ParseError, OSError) as e:
        print("sbe_gen: error: %s" % e, file=sys.stderr)
        return 1
    os.makedirs(args.out, exist_ok=True)
    for name in sorted(files):
        with open(os.path.join(args.out, name), "w", encoding="utf-8", newline="\n") as f:
            f.write(files[name])
    return 0


if __name__ == "__main__":
    sys.exit(main())
