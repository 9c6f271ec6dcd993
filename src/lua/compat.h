/*
** compat.h: the only place that knows which Lua version we are built for.
** Everything else calls these names. Written for 5.4; the 5.3 branch keeps
** the door open (one user value per userdata is all we use).
*/
#ifndef LBP_COMPAT_H
#define LBP_COMPAT_H

#include "lua.h"
#include "lauxlib.h"

#if LUA_VERSION_NUM >= 504
#define lbp_newuserdata(L, size) lua_newuserdatauv(L, size, 1)
#define lbp_getuservalue(L, idx) lua_getiuservalue(L, idx, 1)
#define lbp_setuservalue(L, idx) lua_setiuservalue(L, idx, 1)
#elif LUA_VERSION_NUM == 503
#define lbp_newuserdata(L, size) lua_newuserdata(L, size)
#define lbp_getuservalue(L, idx) lua_getuservalue(L, idx)
#define lbp_setuservalue(L, idx) lua_setuservalue(L, idx)
#else
#error "backprop needs Lua 5.3 or later (5.4 is the supported version)"
#endif

/* Tell the collector about memory it cannot see, so a loop creating big
** tensors triggers collections at the right pace. */
#define lbp_gc_report(L, bytes) \
  ((bytes) >= 65536 ? (void)lua_gc(L, LUA_GCSTEP, (int)((bytes) / 1024)) \
                    : (void)0)

#endif
