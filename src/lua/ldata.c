/*
** ldata.c: the C half of bp.data: IDX files (read_idx), the CSV reader
** behind read_csv (csv_open and its methods: data.lua decides what each
** column becomes, the core reads the file), and the gather behind
** bp.data.batches, which fills reused batch tensors from rows of a data
** set (converting uint8 to float32 on the way when asked).
** All of it is internal (core.internal: data.lua and the specs use it).
*/
#include <errno.h>
#include <math.h>
#include <string.h>

#include "io/csv.h"
#include "io/idx.h"
#include "ldata.h"
#include "ltensor.h"

#define LBP_IDXREADER "backprop.IdxReader"
#define LBP_GUNZIP "backprop.Gunzip"
#define LBP_CSV "backprop.CsvReader"

/* An open IDX file is a userdata, so a Lua error between opening and
** closing (out of memory for the tensor) cannot leak the file. */
static int idx_gc(lua_State *L) {
  bp_idx_close(luaL_checkudata(L, 1, LBP_IDXREADER));
  return 0;
}

static const char *checkpath(lua_State *L, const char *fn) {
  if (lua_type(L, 1) != LUA_TSTRING)
    lbp_error(L, fn, "path must be a string, got %s", luaL_typename(L, 1));
  return lua_tostring(L, 1);
}

/* internal.read_idx(path) -> tensor (uint8 for type 0x08, else float32). */
static int l_read_idx(lua_State *L) {
  const char *fn = "backprop.data.read_idx";
  const char *path = checkpath(L, fn);
  bp_error err;
  bp_idx *r = lua_newuserdata(L, sizeof *r);
  ltensor *t;
  memset(r, 0, sizeof *r);
  luaL_setmetatable(L, LBP_IDXREADER);
  if (bp_idx_open(r, path, &err) != BP_OK) {
    bp_idx_close(r);
    return lbp_error(L, fn, "'%s': %s", path, err.msg);
  }
  if (bp_idx_dtype(r) == BP_UINT8)
    t = lbp_newtensor_u8(L, r->ndim, r->shape, fn);
  else
    t = lbp_newtensor(L, r->ndim, r->shape, fn);
  if (bp_idx_read(r, &t->t, &err) != BP_OK) {
    bp_idx_close(r);
    return lbp_error(L, fn, "'%s': %s", path, err.msg);
  }
  bp_idx_close(r);
  return 1;
}

/* --- test support: a whole gzip file as a string --------------------- */

typedef struct lgunzip {
  FILE *f;
  bp_gunzip *z;
} lgunzip;

static void gunzip_close(lgunzip *g) {
  bp_gunzip_close(g->z);
  g->z = NULL;
  if (g->f) fclose(g->f);
  g->f = NULL;
}

static int gunzip_gc(lua_State *L) {
  gunzip_close(luaL_checkudata(L, 1, LBP_GUNZIP));
  return 0;
}

/* internal.gunzip(path) -> string. For the specs: it holds everything. */
static int l_gunzip(lua_State *L) {
  const char *fn = "backprop.internal.gunzip";
  const char *path = checkpath(L, fn);
  bp_error err;
  luaL_Buffer b;
  lgunzip *g = lua_newuserdata(L, sizeof *g);
  g->f = NULL;
  g->z = NULL;
  luaL_setmetatable(L, LBP_GUNZIP);
  g->f = fopen(path, "rb");
  if (g->f == NULL)
    return lbp_error(L, fn, "'%s': cannot open: %s", path, strerror(errno));
  g->z = bp_gunzip_open(g->f, &err);
  if (g->z == NULL) return lbp_error(L, fn, "'%s': %s", path, err.msg);
  luaL_buffinit(L, &b);
  for (;;) {
    const unsigned char *p;
    size_t n;
    if (bp_gunzip_read(g->z, &p, &n, &err) != BP_OK) {
      gunzip_close(g);
      return lbp_error(L, fn, "'%s': %s", path, err.msg);
    }
    if (n == 0) break;
    luaL_addlstring(&b, (const char *)p, n);
  }
  gunzip_close(g);
  luaL_pushresult(&b);
  return 1;
}

/* --- CSV files ------------------------------------------------------- */

/* The reader is a userdata holding a bp_csv pointer, closed by __gc. Data
** errors come back as nil, message, kind (so data.lua can add advice and
** the path); misuse raises. */
static const char *CSVFN = "backprop.data.read_csv";

static bp_csv **csv_check(lua_State *L) {
  bp_csv **r = lbp_checkudata(L, 1, LBP_CSV, CSVFN, "reader");
  if (*r == NULL) lbp_error(L, CSVFN, "the reader is closed");
  return r;
}

static int csv_fail(lua_State *L, const bp_error *err, const char *kind) {
  lua_pushnil(L);
  lua_pushstring(L, err->msg);
  lua_pushstring(L, kind);
  return 3;
}

static int csv_gc(lua_State *L) {
  bp_csv **r = luaL_checkudata(L, 1, LBP_CSV);
  bp_csv_close(*r);
  *r = NULL;
  return 0;
}

/* Column number at idx (1-based) as a 0-based index. */
static size_t csv_col(lua_State *L, bp_csv *r, int idx) {
  size_t j = lbp_checksize(L, idx, CSVFN, "column");
  if (j > bp_csv_ncols(r))
    lbp_error(L, CSVFN, "column %lu is out of range 1..%lu", (unsigned long)j,
              (unsigned long)bp_csv_ncols(r));
  return j - 1;
}

/* internal.csv_open(path, sep, header) -> reader | nil, message, kind. */
static int l_csv_open(lua_State *L) {
  const char *path = checkpath(L, CSVFN);
  size_t seplen;
  const char *sep = luaL_checklstring(L, 2, &seplen);
  int header = lua_toboolean(L, 3), kind;
  bp_error err;
  bp_csv **r;
  if (seplen != 1) lbp_error(L, CSVFN, "sep must be one character");
  r = lua_newuserdata(L, sizeof *r);
  *r = NULL;
  luaL_setmetatable(L, LBP_CSV);
  *r = bp_csv_open(path, sep[0], header, &err, &kind);
  if (*r == NULL) return csv_fail(L, &err, kind == BP_CSV_ESEP ? "sep" : "");
  return 1;
}

/* reader:names() -> list of the header's names, or nil without one. */
static int csv_names(lua_State *L) {
  bp_csv *r = *csv_check(L);
  size_t j, n = bp_csv_ncols(r), len;
  if (bp_csv_name(r, 0, &len) == NULL) return 0;
  lua_createtable(L, (int)n, 0);
  for (j = 0; j < n; j++) {
    const char *s = bp_csv_name(r, j, &len);
    lua_pushlstring(L, s, len);
    lua_rawseti(L, -2, (lua_Integer)j + 1);
  }
  return 1;
}

static int csv_ncols(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)bp_csv_ncols(*csv_check(L)));
  return 1;
}

/* reader:scan(modes, na) -> rows | nil, message, kind. modes[j] is
** "number", "auto" or "skip"; na a list of missing-value markers. */
static int csv_scan(lua_State *L) {
  static const char *const MODES[] = {"number", "auto", "skip", NULL};
  bp_csv *r = *csv_check(L);
  size_t j, n = bp_csv_ncols(r), k, len;
  bp_error err;
  int kind;
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  for (j = 0; j < n; j++) {
    int m;
    lua_geti(L, 2, (lua_Integer)j + 1);
    m = luaL_checkoption(L, -1, NULL, MODES);
    bp_csv_mode(r, j, m == 0 ? BP_CSV_NUMBER : m == 1 ? BP_CSV_AUTO : BP_CSV_SKIP);
    lua_pop(L, 1);
  }
  for (k = 1; lua_geti(L, 3, (lua_Integer)k) == LUA_TSTRING; k++) {
    const char *s = lua_tolstring(L, -1, &len);
    if (bp_csv_na(r, s, len, &err) != BP_OK) lbp_error(L, CSVFN, "%s", err.msg);
    lua_pop(L, 1);
  }
  if (bp_csv_scan(r, &err, &kind) != BP_OK)
    return csv_fail(L, &err, kind == BP_CSV_ETEXT ? "text" : "");
  lua_pushinteger(L, (lua_Integer)bp_csv_rows(r));
  return 1;
}

/* reader:column(j) -> text, missing, first missing line, distinct values. */
static int csv_column(lua_State *L) {
  bp_csv *r = *csv_check(L);
  const bp_csv_col *c = bp_csv_column(r, csv_col(L, r, 2));
  lua_pushboolean(L, c->text);
  lua_pushinteger(L, (lua_Integer)c->missing);
  lua_pushinteger(L, (lua_Integer)c->missing_line);
  lua_pushinteger(L, (lua_Integer)c->ncat);
  return 4;
}

/* reader:categories(j) -> the text column's values, in id order. */
static int csv_categories(lua_State *L) {
  bp_csv *r = *csv_check(L);
  size_t j = csv_col(L, r, 2), n = bp_csv_column(r, j)->ncat, id, len;
  lua_createtable(L, (int)n, 0);
  for (id = 1; id <= n; id++) {
    const char *s = bp_csv_category(r, j, id, &len);
    if (s == NULL) return lbp_error(L, CSVFN, "categories before the scan");
    lua_pushlstring(L, s, len);
    lua_rawseti(L, -2, (lua_Integer)id);
  }
  return 1;
}

/* A tensor of `rows` rows as a float32 destination: its columns. */
static size_t csv_target(lua_State *L, int idx, size_t rows, const char *arg) {
  ltensor *t = lbp_checkouttensor(L, idx, CSVFN, arg);
  if (t->t.ndim > 2 || t->t.shape[0] != rows)
    lbp_error(L, CSVFN, "%s must have %lu rows", arg, (unsigned long)rows);
  return t->t.ndim == 2 ? t->t.shape[1] : 1;
}

/* reader:fill(X, Y, plan, missing) -> true | nil, message. plan[j] is
** false (not read), {"x", column, onehot} or {"y"}; X and Y are float32
** tensors of the scanned number of rows (Y may be nil). */
static int csv_fill(lua_State *L) {
  bp_csv *r = *csv_check(L);
  size_t rows = bp_csv_rows(r), ncols = bp_csv_ncols(r), j;
  size_t xw = csv_target(L, 2, rows, "X"), yw = 0;
  float missing = (float)luaL_checknumber(L, 5);
  bp_csv_dest *dest;
  bp_error err;
  if (!lua_isnil(L, 3)) yw = csv_target(L, 3, rows, "Y");
  luaL_checktype(L, 4, LUA_TTABLE);
  dest = lua_newuserdata(L, (ncols + 1) * sizeof *dest);
  for (j = 0; j < ncols; j++) {
    const bp_csv_col *c = bp_csv_column(r, j);
    bp_csv_dest *d = &dest[j];
    d->base = NULL;
    d->stride = 0;
    d->onehot = 0;
    if (lua_geti(L, 4, (lua_Integer)j + 1) == LUA_TTABLE) {
      const char *to;
      lua_geti(L, -1, 1);
      to = lua_tostring(L, -1);
      if (to != NULL && strcmp(to, "x") == 0) {
        ltensor *x = lua_touserdata(L, 2);
        size_t at, width;
        lua_geti(L, -2, 2);
        at = lbp_checksize(L, -1, CSVFN, "plan column");
        lua_geti(L, -3, 3);
        d->onehot = lua_toboolean(L, -1) && c->text;
        width = d->onehot ? c->ncat : 1;
        if (at - 1 > xw || width > xw - (at - 1))
          lbp_error(L, CSVFN, "plan: column %lu does not fit in X",
                    (unsigned long)j + 1);
        d->base = x->t.data + (at - 1);
        d->stride = xw;
        lua_pop(L, 2);
      } else if (to != NULL && strcmp(to, "y") == 0 && yw == 1) {
        d->base = ((ltensor *)lua_touserdata(L, 3))->t.data;
        d->stride = 1;
      } else {
        lbp_error(L, CSVFN, "plan: bad entry for column %lu", (unsigned long)j + 1);
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  if (bp_csv_fill(r, dest, missing, &err) != BP_OK) return csv_fail(L, &err, "");
  lua_pushboolean(L, 1);
  return 1;
}

static int csv_close(lua_State *L) {
  bp_csv **r = lbp_checkudata(L, 1, LBP_CSV, CSVFN, "reader");
  bp_csv_close(*r);
  *r = NULL;
  return 0;
}

/* --- tensors of any element type ------------------------------------- */

/* internal.batch_new(src, rows, float) -> a tensor shaped like src but with
** `rows` rows: float32 if `float` or src is float32, else uint8. */
static int l_batch_new(lua_State *L) {
  const char *fn = "backprop.data.batches";
  ltensor *src = lbp_checkanytensor(L, 1, fn, "x");
  size_t shape[BP_MAXDIM];
  int as_float = lua_toboolean(L, 3);
  memcpy(shape, src->t.shape, sizeof shape);
  shape[0] = lbp_checksize(L, 2, fn, "rows");
  if (src->t.dtype == BP_UINT8 && !as_float)
    lbp_newtensor_u8(L, src->t.ndim, shape, fn);
  else
    lbp_newtensor(L, src->t.ndim, shape, fn);
  return 1;
}

/* internal.batch_fill(dst, src, perm, start, count [, scale [, shift]]):
** dst rows 1..count = src rows perm[start + 1 .. start + count] (or
** start + 1 .. when perm is nil), as src * scale + shift when dst is
** float32. perm holds 1-based row numbers as floats (bp.randperm). */
static int l_batch_fill(lua_State *L) {
  const char *fn = "backprop.data.batches";
  ltensor *dst = lbp_checkanytensor(L, 1, fn, "batch");
  ltensor *src = lbp_checkanytensor(L, 2, fn, "x");
  ltensor *perm = lua_isnil(L, 3) ? NULL : lbp_checktensor(L, 3, fn, "perm");
  lua_Integer start = luaL_checkinteger(L, 4), count = luaL_checkinteger(L, 5);
  int affine = !lua_isnoneornil(L, 6) || !lua_isnoneornil(L, 7);
  float scale = (float)luaL_optnumber(L, 6, 1.0);
  float shift = (float)luaL_optnumber(L, 7, 0.0);
  size_t n = src->t.shape[0], row, i, j;
  float lut[256];
  if (dst->t.ndim != src->t.ndim || dst->t.numel / dst->t.shape[0] !=
      src->t.numel / n)
    lbp_error(L, fn, "batch rows do not match the data's rows");
  row = src->t.numel / n;
  if (start < 0 || count < 1 || (size_t)count > dst->t.shape[0] ||
      (size_t)start > n || (size_t)count > n - (size_t)start)
    lbp_error(L, fn, "rows %d..%d are out of range", (int)start + 1,
              (int)(start + count));
  if (perm && perm->t.numel != n)
    lbp_error(L, fn, "perm has %lu entries for %lu rows",
              (unsigned long)perm->t.numel, (unsigned long)n);
  if (dst->t.dtype == BP_UINT8 && src->t.dtype != BP_UINT8)
    lbp_error(L, fn, "cannot fill a uint8 batch from float32 data");
  if (src->t.dtype == BP_UINT8)
    for (i = 0; i < 256; i++) lut[i] = (float)i * scale + shift;
  for (i = 0; i < (size_t)count; i++) {
    size_t id = (size_t)start + i;
    if (perm) {
      float v = perm->t.data[id];
      if (!(v >= 1.0f && v <= (float)n && v == floorf(v)))
        lbp_error(L, fn, "perm[%lu] = %g is not a row number in 1..%lu",
                  (unsigned long)id + 1, (double)v, (unsigned long)n);
      id = (size_t)v - 1;
    }
    if (dst->t.dtype == BP_UINT8) {
      memcpy(dst->t.u8 + i * row, src->t.u8 + id * row, row);
    } else if (src->t.dtype == BP_UINT8) {
      const unsigned char *s = src->t.u8 + id * row;
      float *d = dst->t.data + i * row;
      for (j = 0; j < row; j++) d[j] = lut[s[j]];
    } else if (affine) {
      bp_vaffine(row, src->t.data + id * row, scale, shift, dst->t.data + i * row);
    } else {
      memcpy(dst->t.data + i * row, src->t.data + id * row, row * sizeof(float));
    }
  }
  return 0;
}

static const luaL_Reg internal[] = {
  {"read_idx", l_read_idx}, {"gunzip", l_gunzip}, {"csv_open", l_csv_open},
  {"batch_new", l_batch_new}, {"batch_fill", l_batch_fill},
  {NULL, NULL}
};

void lbp_open_data(lua_State *L) {
  static const luaL_Reg idx_meta[] = {{"__gc", idx_gc}, {NULL, NULL}};
  static const luaL_Reg gz_meta[] = {{"__gc", gunzip_gc}, {NULL, NULL}};
  static const luaL_Reg csv_meta[] = {{"__gc", csv_gc}, {NULL, NULL}};
  static const luaL_Reg csv_methods[] = {
    {"names", csv_names}, {"ncols", csv_ncols}, {"scan", csv_scan},
    {"column", csv_column}, {"categories", csv_categories},
    {"fill", csv_fill}, {"close", csv_close}, {NULL, NULL}};
  static const luaL_Reg NULL_FUNCS[] = {{NULL, NULL}};
  luaL_newmetatable(L, LBP_IDXREADER);
  luaL_setfuncs(L, idx_meta, 0);
  lua_pop(L, 1);
  luaL_newmetatable(L, LBP_GUNZIP);
  luaL_setfuncs(L, gz_meta, 0);
  lua_pop(L, 1);
  lbp_newclass(L, LBP_CSV, csv_meta, csv_methods, NULL, NULL_FUNCS);
  lbp_setinternal(L, internal);
}
