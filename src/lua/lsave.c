/*
** lsave.c: what files need from the binding.
**
** internal.encode / internal.decode turn a Lua value into the bytes of a
** model file's section (serialize.h) and back: the predictor metadata and
** checkpoints (optimizer and scheduler states, the generator's state,
** history) travel this way, as data, never as Lua code. A value is a tag
** byte and what the tag says, all numbers little-endian:
**
**   0 false, 1 true
**   2 number: f64                3 integer: i64 (Lua 5.3+ integers; an
**                                  integral number on 5.1, 5.2, LuaJIT)
**   4 string: u32 length, bytes
**   5 table: u32 count, then count pairs of key and value (keys: strings
**     and numbers; numbers first in ascending order, then strings in byte
**     order, so the same table always gives the same bytes; metatables
**     are not saved)
**   6 tensor (float32): u8 dimensions D (1-8), D x u64 sizes, then the
**     values as f32
**
** Decoding checks each count and size against the bytes left before it
** allocates, tables nested at most 32 deep, keys of a table each once, and
** every byte used; any other content is "corrupt", naming the file and the
** section. (The file's checksum was checked before.)
**
** internal.copy_net puts a checkpoint's weights into a network of the
** same layers (checkpoint.lua). internal.write_file is io/file.h's atomic
** write for the Lua modules (plot.lua's SVG files), so every file the
** library writes is replaced whole or not at all.
*/
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/bytes.h"
#include "io/file.h"
#include "lmodule.h"
#include "lsave.h"
#include "ltensor.h"

enum { T_FALSE, T_TRUE, T_NUMBER, T_INTEGER, T_STRING, T_TABLE, T_TENSOR };
#define MAX_DEPTH 32

/* --- encoding ------------------------------------------------------------ */

/* The bytes grow in a userdata at stack slot `box` (replaced by a larger
** one as needed), so an error anywhere leaves nothing to free. `path`
** names the value being encoded, for messages ("history.loss[3]"). */
typedef struct enc {
  lua_State *L;
  int box;
  unsigned char *p;
  size_t n, cap;
  const char *fn;
  char path[160];
  size_t plen;
} enc;

static unsigned char *room(enc *e, size_t need) {
  if (e->cap - e->n < need) {
    size_t cap = e->cap * 2 > 256 ? e->cap * 2 : 256;
    unsigned char *q;
    if (cap < e->n + need) cap = e->n + need;
    q = lua_newuserdata(e->L, cap);
    if (e->n > 0) memcpy(q, e->p, e->n);
    lua_replace(e->L, e->box);
    e->p = q;
    e->cap = cap;
  }
  return e->p + e->n;
}

static void put8(enc *e, unsigned v) {
  *room(e, 1) = (unsigned char)v;
  e->n++;
}

static void put64(enc *e, uint64_t v) {
  bp_put64(room(e, 8), v);
  e->n += 8;
}

static void put_number(enc *e, lua_Number x) {
  double d = (double)x;
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  put8(e, T_NUMBER);
  put64(e, u);
}

static void put_string(enc *e, const char *s, size_t len) {
  if (len > UINT32_MAX)
    lbp_error(e->L, e->fn, "%s is a string of %lu bytes (at most 4 GiB can "
              "be saved)", e->path, (unsigned long)len);
  put8(e, T_STRING);
  bp_put32(room(e, 4), (uint32_t)len);
  e->n += 4;
  memcpy(room(e, len), s, len);
  e->n += len;
}

/* The number at idx: an integer when Lua says so (on 5.1 and 5.2, an
** integral value; -0 stays a float there, keeping its sign). */
static void encode_number(enc *e, int idx) {
  lua_Number x = lua_tonumber(e->L, idx);
  if (lua_isinteger(e->L, idx) && !(x == 0 && signbit(x))) {
    put8(e, T_INTEGER);
    put64(e, (uint64_t)(int64_t)lua_tointeger(e->L, idx));
  } else {
    put_number(e, x);
  }
}

static void encode_tensor(enc *e, int idx) {
  ltensor *t = lua_touserdata(e->L, idx);
  size_t i;
  int k;
  unsigned char *q;
  if (t->closed) lbp_error(e->L, e->fn, "%s is a closed tensor", e->path);
  if (t->t.dtype != BP_FLOAT32)
    lbp_error(e->L, e->fn, "%s is a uint8 tensor: only float32 tensors can "
              "be saved (convert it with :float())", e->path);
  t = lbp_checktensor(e->L, idx, e->fn, e->path);   /* contiguous */
  put8(e, T_TENSOR);
  put8(e, (unsigned)t->t.ndim);
  for (k = 0; k < t->t.ndim; k++) put64(e, (uint64_t)t->t.shape[k]);
  q = room(e, 4 * t->t.numel);
  for (i = 0; i < t->t.numel; i++) q = bp_putf(q, t->t.data[i]);
  e->n += 4 * t->t.numel;
}

/* A table's key, for sorting: numbers first, ascending, then strings. */
typedef struct key {
  int isnum, isint;
  lua_Number num;
  lua_Integer i;
  const char *s;
  size_t len;
} key;

static int key_order(const void *pa, const void *pb) {
  const key *a = pa, *b = pb;
  size_t n;
  int c;
  if (a->isnum != b->isnum) return a->isnum ? -1 : 1;
  if (a->isnum) {
    if (a->num != b->num) return a->num < b->num ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
  }
  n = a->len < b->len ? a->len : b->len;
  c = memcmp(a->s, b->s, n);
  if (c != 0) return c;
  return a->len < b->len ? -1 : a->len > b->len;
}

static void encode(enc *e, int idx, int depth);

/* Append the key k to the path (".name" or "[k]"); returns the old length. */
static size_t path_push(enc *e, const key *k) {
  size_t old = e->plen, room_left = sizeof e->path - old;
  int w;
  if (!k->isnum)
    w = snprintf(e->path + old, room_left, ".%.*s", (int)(k->len < 40 ? k->len : 40), k->s);
  else if (k->isint)
    w = snprintf(e->path + old, room_left, "[" LUA_INTEGER_FMT "]", k->i);
  else
    w = snprintf(e->path + old, room_left, "[%.17g]", (double)k->num);
  e->plen = w < 0 || (size_t)w >= room_left ? sizeof e->path - 1 : old + (size_t)w;
  return old;
}

static void encode_table(enc *e, int idx, int depth) {
  lua_State *L = e->L;
  size_t n = 0, j;
  key *keys;
  if (depth >= MAX_DEPTH)
    lbp_error(L, e->fn, "%s: tables nested deeper than %d levels (a table "
              "that contains itself?)", e->path, MAX_DEPTH);
  luaL_checkstack(L, 6, "tables nested too deep");
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    n++;
    lua_pop(L, 1);
  }
  if (n > UINT32_MAX)
    lbp_error(L, e->fn, "%s has too many entries", e->path);
  keys = lua_newuserdata(L, (n > 0 ? n : 1) * sizeof *keys);  /* freed by gc */
  n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    key *k = &keys[n++];
    memset(k, 0, sizeof *k);
    if (lua_type(L, -2) == LUA_TNUMBER) {
      k->isnum = 1;
      k->num = lua_tonumber(L, -2);
      k->isint = lua_isinteger(L, -2) && !(k->num == 0 && signbit(k->num));
      if (k->isint) k->i = lua_tointeger(L, -2);
    } else if (lua_type(L, -2) == LUA_TSTRING) {
      k->s = lua_tolstring(L, -2, &k->len);   /* kept alive by the table */
    } else {
      lbp_error(L, e->fn, "%s has a key of type %s: only strings and "
                "numbers can be keys of a saved table", e->path,
                luaL_typename(L, -2));
    }
    lua_pop(L, 1);
  }
  qsort(keys, n, sizeof *keys, key_order);
  put8(e, T_TABLE);
  bp_put32(room(e, 4), (uint32_t)n);
  e->n += 4;
  for (j = 0; j < n; j++) {
    const key *k = &keys[j];
    size_t old;
    if (!k->isnum) lua_pushlstring(L, k->s, k->len);
    else if (k->isint) lua_pushinteger(L, k->i);
    else lua_pushnumber(L, k->num);
    if (!k->isnum) put_string(e, k->s, k->len);
    else if (k->isint) encode_number(e, -1);
    else put_number(e, k->num);
    lua_rawget(L, idx);
    old = path_push(e, k);
    encode(e, lua_gettop(L), depth + 1);
    e->plen = old;
    e->path[old] = '\0';
    lua_pop(L, 1);
  }
  lua_pop(L, 1);                        /* the keys */
}

static void encode(enc *e, int idx, int depth) {
  switch (lua_type(e->L, idx)) {
  case LUA_TBOOLEAN:
    put8(e, lua_toboolean(e->L, idx) ? T_TRUE : T_FALSE);
    return;
  case LUA_TNUMBER:
    encode_number(e, idx);
    return;
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(e->L, idx, &len);
    put_string(e, s, len);
    return;
  }
  case LUA_TTABLE:
    encode_table(e, idx, depth);
    return;
  case LUA_TUSERDATA:
    if (luaL_testudata(e->L, idx, LBP_TENSOR) != NULL) {
      encode_tensor(e, idx);
      return;
    }
    break;
  default:
    break;
  }
  lbp_error(e->L, e->fn, "%s is a %s: only strings, numbers, booleans, "
            "float32 tensors and tables of them can be saved", e->path,
            luaL_typename(e->L, idx));
}

/* internal.encode(value, fn, name): the bytes of value (a string); errors
** read "<fn>: <name>.key[2] is a function: ...". */
static int l_encode(lua_State *L) {
  enc e;
  memset(&e, 0, sizeof e);
  e.L = L;
  e.fn = luaL_checkstring(L, 2);
  snprintf(e.path, sizeof e.path, "%s", luaL_checkstring(L, 3));
  e.plen = strlen(e.path);
  lua_settop(L, 3);
  lua_pushnil(L);                       /* 4: the box */
  e.box = 4;
  encode(&e, 1, 0);
  lua_pushlstring(L, (const char *)e.p, e.n);
  return 1;
}

/* --- decoding ------------------------------------------------------------ */

typedef struct dec {
  lua_State *L;
  bp_reader r;
  const char *fn, *file, *section;
} dec;

static int corrupt(dec *d, const char *fmt, ...) {
  char msg[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return lbp_error(d->L, d->fn, "'%s' is corrupt (section '%s': %s)",
                   d->file, d->section, msg);
}

static void decode(dec *d, int depth);

static void decode_table(dec *d, int depth) {
  lua_State *L = d->L;
  uint32_t n = 0, i;
  if (!bp_get32(&d->r, &n) || n > bp_left(&d->r) / 2)
    corrupt(d, "a table of %lu entries past the end", (unsigned long)n);
  lua_createtable(L, 0, 0);
  for (i = 0; i < n; i++) {
    int t;
    decode(d, depth + 1);                                 /* the key */
    t = lua_type(L, -1);
    if ((t != LUA_TSTRING && t != LUA_TNUMBER) ||
        (t == LUA_TNUMBER && lua_tonumber(L, -1) != lua_tonumber(L, -1)))
      corrupt(d, "a table key that is %s",
              t == LUA_TNUMBER ? "NaN" : luaL_typename(L, -1));
    lua_pushvalue(L, -1);
    lua_rawget(L, -3);
    if (!lua_isnil(L, -1)) corrupt(d, "a table key twice");
    lua_pop(L, 1);
    decode(d, depth + 1);                                 /* the value */
    lua_rawset(L, -3);
  }
}

static void decode_tensor(dec *d) {
  size_t shape[BP_MAXDIM], numel = 1, i;
  unsigned ndim = 0;
  ltensor *t;
  unsigned k;
  if (!bp_get8(&d->r, &ndim) || ndim < 1 || ndim > BP_MAXDIM)
    corrupt(d, "a tensor of %u dimensions", ndim);
  for (k = 0; k < ndim; k++) {
    uint64_t s = 0;
    if (!bp_get64(&d->r, &s)) corrupt(d, "a tensor's shape past the end");
    if (s < 1 || s > bp_left(&d->r) / 4 / numel)
      corrupt(d, "a tensor of more values than the bytes left");
    shape[k] = (size_t)s;
    numel *= (size_t)s;
  }
  if (numel > bp_left(&d->r) / 4)
    corrupt(d, "a tensor of more values than the bytes left");
  t = lbp_newtensor(d->L, (int)ndim, shape, d->fn);
  for (i = 0; i < numel; i++) bp_getf(&d->r, &t->t.data[i]);
}

static void decode(dec *d, int depth) {
  lua_State *L = d->L;
  unsigned tag = 0;
  uint64_t u = 0;
  uint32_t len = 0;
  if (depth > MAX_DEPTH)
    corrupt(d, "tables nested deeper than %d levels", MAX_DEPTH);
  luaL_checkstack(L, 4, "section nested too deep");
  if (!bp_get8(&d->r, &tag)) corrupt(d, "a value past the end");
  switch (tag) {
  case T_FALSE:
  case T_TRUE:
    lua_pushboolean(L, tag == T_TRUE);
    return;
  case T_NUMBER: {
    double x;
    if (!bp_get64(&d->r, &u)) corrupt(d, "a number past the end");
    memcpy(&x, &u, sizeof x);
    lua_pushnumber(L, (lua_Number)x);
    return;
  }
  case T_INTEGER:
    if (!bp_get64(&d->r, &u)) corrupt(d, "an integer past the end");
    if (sizeof(lua_Integer) >= sizeof(int64_t))   /* 5.3+, and 64-bit 5.1 */
      lua_pushinteger(L, (lua_Integer)(int64_t)u);
    else
      lua_pushnumber(L, (lua_Number)(int64_t)u);
    return;
  case T_STRING:
    if (!bp_get32(&d->r, &len) || len > bp_left(&d->r))
      corrupt(d, "a string of %lu bytes past the end", (unsigned long)len);
    lua_pushlstring(L, (const char *)d->r.p, len);
    d->r.p += len;
    return;
  case T_TABLE:
    decode_table(d, depth);
    return;
  case T_TENSOR:
    decode_tensor(d);
    return;
  default:
    corrupt(d, "a value of unknown type %u", tag);
  }
}

/* internal.decode(bytes, fn, file, section): the value the bytes hold;
** errors read "<fn>: '<file>' is corrupt (section '<section>': ...)". */
static int l_decode(lua_State *L) {
  dec d;
  size_t n;
  const unsigned char *p = (const unsigned char *)luaL_checklstring(L, 1, &n);
  d.L = L;
  d.fn = luaL_checkstring(L, 2);
  d.file = luaL_checkstring(L, 3);
  d.section = luaL_checkstring(L, 4);
  d.r.p = p;
  d.r.end = p + n;
  decode(&d, 0);
  if (bp_left(&d.r) != 0) corrupt(&d, "%lu bytes after the value",
                                  (unsigned long)bp_left(&d.r));
  return 1;
}

/* --- checkpoints ------------------------------------------------------------ */

/* internal.copy_net(dst, src, fn [, check_only]): the parameters and
** buffers of src (a checkpoint's network) into dst, which must have the
** same layers (kind and settings: the same text, layer by layer, nesting
** aside). With check_only, only the check. */
static int l_copy_net(lua_State *L) {
  const char *fn = luaL_checkstring(L, 3);
  lmodule *dst = lbp_checkmodule(L, 1, fn, "net");
  lmodule *src = lbp_checkmodule(L, 2, fn, "the checkpoint's network");
  size_t i;
  if (dst->net.nlayers != src->net.nlayers)
    lbp_error(L, fn, "the checkpoint's network has %lu layers, this one %lu",
              (unsigned long)src->net.nlayers,
              (unsigned long)dst->net.nlayers);
  for (i = 0; i < dst->net.nlayers; i++) {
    char a[160], b[160];
    bp_layer_text(&src->net.layers[i], a, sizeof a);
    bp_layer_text(&dst->net.layers[i], b, sizeof b);
    if (strcmp(a, b) != 0 || src->net.layers[i].kind != dst->net.layers[i].kind)
      lbp_error(L, fn, "layer %lu is %s in the checkpoint, %s here",
                (unsigned long)i + 1, a, b);
  }
  if (lua_toboolean(L, 4)) return 0;
  lbp_ensure_init(L, dst);        /* a lone layer's lazy draw comes first */
  memcpy(dst->net.params, src->net.params,
         dst->net.nparams * sizeof *dst->net.params);
  if (dst->net.nstate > 0)
    memcpy(dst->net.state, src->net.state,
           dst->net.nstate * sizeof *dst->net.state);
  return 0;
}

/* --- whole files ---------------------------------------------------------- */

#define LBP_BYTES "backprop.Bytes"

static int bytes_gc(lua_State *L) {
  unsigned char **box = luaL_checkudata(L, 1, LBP_BYTES);
  free(*box);
  *box = NULL;
  return 0;
}

unsigned char **lbp_bytesbox(lua_State *L) {
  unsigned char **box = lua_newuserdata(L, sizeof *box);
  *box = NULL;
  luaL_setmetatable(L, LBP_BYTES);
  return box;
}

/* internal.write_file(path, text): true, or nil and the message
** ("cannot write 'x.svg': ..."), for the caller to raise under its name. */
static int l_write_file(lua_State *L) {
  const char *fn = "backprop.internal.write_file";
  size_t n;
  const char *data;
  bp_error err;
  if (lua_type(L, 1) != LUA_TSTRING)
    lbp_error(L, fn, "path must be a string, got %s", luaL_typename(L, 1));
  if (lua_type(L, 2) != LUA_TSTRING)
    lbp_error(L, fn, "text must be a string, got %s", luaL_typename(L, 2));
  data = lua_tolstring(L, 2, &n);
  if (bp_file_write(lua_tostring(L, 1), data, n, &err) != BP_OK) {
    lua_pushnil(L);
    lua_pushstring(L, err.msg);
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

void lbp_open_save(lua_State *L) {
  static const luaL_Reg internal[] = {
    {"encode", l_encode}, {"decode", l_decode}, {"write_file", l_write_file},
    {"copy_net", l_copy_net}, {NULL, NULL}
  };
  static const luaL_Reg meta[] = {{"__gc", bytes_gc}, {NULL, NULL}};
  luaL_newmetatable(L, LBP_BYTES);
  luaL_setfuncs(L, meta, 0);
  lua_pop(L, 1);
  lbp_setinternal(L, internal);
}
