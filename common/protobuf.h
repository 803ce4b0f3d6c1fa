/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * pomelo-protobuf (PROTOCOL.md §6): schemas compiled once from the game's
 * serverProtos.json / clientProtos.json, the parsed form that travels in
 * the handshake's sys.protos, its version (CLUSTER.md §8.2), and the codec
 * between message bodies and jansson values. Pure: no I/O except
 * pb_protos_load(), no libevent, no logging.
 *
 * Supported, as npm pomelo-protobuf 0.4.0 (Pomelo 2.2.7) and pinus-protobuf
 * 1.7.4 (Pinus 1.7.4) do it: rules required, optional, repeated; types
 * uInt32, int32, sInt32 (both zig-zag), float, double, string and messages,
 * nested ("message X" in a message, looked up first) or global ("message
 * X" at the top, looked up second, not in enclosing messages); repeated
 * numbers as one key, a count and the elements; strings and messages one
 * key each; empty arrays left out. Fields are written in the order of the
 * value's members (JavaScript's: array-index names first, ascending). The
 * decoder ignores the wire type of keys (the browser codec writes varints
 * with wire type 2) and does not check required fields, as none of the
 * JavaScript decoders does.
 *
 * Flavours. PB_PINUS adds the types bool (varint 0/1, written from the
 * value's JavaScript truthiness), uInt64 and sInt64 (encoded as uInt32 and
 * sInt32; they decode to JavaScript numbers, so above 2^53 they are
 * rounded as there), and the rules "map" and "obj": the field's type names
 * a message with fields "key" and "value" whose types (resolved where the
 * map field is) give the entry types; on the wire one key (wire type 2),
 * the entry count, then key and value of each entry, bare. Pinus encodes
 * a map only from a JavaScript Map and decodes it to one; JSON has no Map,
 * so here both are JSON objects, and map differs from obj only in that an
 * empty object is still written (key and count 0), as an empty Map is.
 * Pinus does not check required fields beneath map and obj values, nor
 * does this. PB_POMELO rejects these types and rules: pomelo's parser
 * drops map/obj fields, and its codec has no case for the three types (it
 * would write a key with no value). Otherwise the two write the same
 * bytes and parse to the same form; their decoders differ only on bad
 * input (pomelo throws on an unknown tag, pinus skips its key and reads
 * on), which is an error here for both.
 *
 * Stricter than the JavaScript libraries, which accept these silently and
 * then misbehave at run time. Schemas: an error names the file, route,
 * message and field for an unknown rule, a key that is not "rule type
 * name" or "message Name" (one space each), a duplicate field name or tag
 * (pomelo keeps one silently), a tag that is not an integer in
 * 0..2^28-1, a name that is __messages, __tags or an Object.prototype
 * member, a map key type other than string or an integer type, and a type
 * that does not resolve in a message some route uses (elsewhere it is
 * left alone, as pomelo's parser does; a global "message X" that does not
 * resolve is then not found by pb_protos_find()). Values: float and double
 * take numbers; the integer types numbers or strings, read as parseInt
 * reads them (3.7 is 3, "12abc" 12, "0x1f" 31), unsigned ones below 2^64
 * and signed ones within +-2^63, but not numbers parseInt would read from
 * an exponent form (1e21 and up, non-zero below 1e-6); string takes
 * strings; a message takes objects; repeated takes arrays or null (left
 * out, as pomelo does); map/obj take objects or null. Anything else is an
 * error naming the field, where pomelo would throw, write NaN or zero, or
 * skip the field. Decoding rejects truncated input, an unknown tag, a
 * varint longer than 10 bytes or not below 2^64, a field that overruns
 * its message's length, nesting deeper than PB_DEPTH_MAX, and integer map
 * keys beyond 2^53, where the JavaScript decoders throw or return garbage.
 * Decoded integers are JavaScript numbers (sums of doubles, so rounded
 * above 2^53); decoded strings are UTF-8 with invalid sequences replaced
 * by U+FFFD as Node's Buffer.toString() does (the browser codec writes
 * astral characters as CESU-8, which Pomelo receives as six U+FFFD too); a
 * NaN or infinite float decodes to null, as JSON.stringify writes it.
 */

#ifndef COMMON_PROTOBUF_H
#define COMMON_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Nesting depth of messages that encode and decode accept. */
#define PB_DEPTH_MAX		64
/* Bytes pb_protos_version() writes: 24 base64 characters and a NUL. */
#define PB_VERSION_SIZE		25
/* A size for error buffers: codec errors fit; a schema error may be cut. */
#define PB_ERR_SIZE		256

enum pb_flavour {
	PB_POMELO = 0,
	PB_PINUS = 1,
};

struct pb_protos;
struct pb_msg;

/*
 * Compiles <source>, a schema file's JSON object (route or "message X" ->
 * message), for <flavour>. <name> (the file name, may be NULL) starts
 * error messages. Returns 0 and a new set in <*ret> (free it with
 * pb_protos_free()), or -EINVAL with a message in <err> (<errlen> bytes,
 * may be 0) such as "serverProtos.json: route onChat: field 'msg':
 * unknown type 'strng'"; <*ret> is untouched on failure.
 */
int	 pb_protos_compile(const json_t *source, enum pb_flavour flavour,
	     const char *name, struct pb_protos **ret, char *err,
	     size_t errlen);

/*
 * Reads the JSON file <path> (a leading UTF-8 byte order mark skipped, as
 * Node's require() does) and compiles it. Returns 0, or -errno with a
 * message in <err>: -ENOENT when the file does not exist (Pomelo then
 * counts it as absent: pass NULL to the functions below), another errno
 * when it cannot be read, -EFBIG above 64 MiB, -EINVAL for a syntax error
 * ("FILE:LINE: text"; an empty file is one, as for Pomelo) or a schema
 * error.
 */
int	 pb_protos_load(const char *path, enum pb_flavour flavour,
	     struct pb_protos **ret, char *err, size_t errlen);

/* Frees <p> and its messages; accepts NULL. */
void	 pb_protos_free(struct pb_protos *p);

/*
 * The parsed form of <p> as compact JSON, byte for byte what
 * JSON.stringify(protobuf.parse(source)) prints with the flavour's npm
 * library; "{}" for NULL (an absent file). Borrowed from <p>; <*ret_len>
 * (may be NULL) gets its length.
 */
const char *pb_protos_json(const struct pb_protos *p, size_t *ret_len);

/*
 * Writes the protos version to <out> (PB_VERSION_SIZE bytes):
 * base64(MD5(parsed client JSON + parsed server JSON)), an absent (NULL)
 * side counting as {}; "" when both are absent. Returns 0, or -ENOTSUP
 * when OpenSSL has no MD5 (FIPS mode).
 */
int	 pb_protos_version(const struct pb_protos *client,
	     const struct pb_protos *server, char out[PB_VERSION_SIZE]);

/*
 * Returns the message of the top-level key <route> (<len> bytes, no NUL
 * needed) in <p>, or NULL when it has none or <p> is NULL. Borrowed from
 * <p>, valid until pb_protos_free().
 */
const struct pb_msg *pb_protos_find(const struct pb_protos *p,
	     const char *route, size_t len);

/*
 * Encodes the object <value> as message <m> into <out> (<cap> bytes; NULL
 * when <cap> is 0, to measure). Returns 0 and the length in <*ret_len> (0
 * when no field was written: pomelo then sends an empty body); -ENOBUFS
 * when <cap> is too small, with the length needed in <*ret_len> (encode
 * again with that much); -EINVAL when <value> does not fit <m>, with the
 * reason and the field's path in <err>: "missing required field
 * 'pts[1].x'", "field 'inner.s': expected a string, got a number", "field
 * 'n': out of range". Allocates nothing, except for a map value with more
 * than 32 integer keys.
 */
int	 pb_encode(const struct pb_msg *m, const json_t *value, uint8_t *out,
	     size_t cap, size_t *ret_len, char *err, size_t errlen);

/*
 * Decodes the <len> bytes at <in> as message <m> into a new object in
 * <*ret> (the caller's to json_decref()). Returns 0, or -EBADMSG with a
 * short reason in <err> ("unknown tag 9 at byte 14", "field 'pts[0].y':
 * truncated at byte 5"); <*ret> is untouched on failure. Field paths in
 * errors show control characters as \xNN (map keys come from the peer).
 */
int	 pb_decode(const struct pb_msg *m, const uint8_t *in, size_t len,
	     json_t **ret, char *err, size_t errlen);

#endif
