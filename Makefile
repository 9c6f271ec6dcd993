# backprop -- build, test and install (GNU make).
#
# Variable names follow LuaRocks' conventions so a packager can pass the same
# values LuaRocks would (LUA, LUA_INCDIR, CFLAGS, LIBFLAG, LIBDIR, LUADIR).
#
#   make                 build build/backprop/core.so in place (Lua 5.4)
#   make LUA=luajit      the same for another Lua: build/<lua>/backprop/core.so
#                        (LUA=lua5.1, lua5.2, lua5.3, lua5.4 or luajit; headers found)
#   make modules         build the module for every Lua of LUAS installed here
#   make test            check deps, build, run tools/test.sh (every spec, install
#                        checks included) under every installed Lua of LUAS
#   make check           the same without the dependency check
#   make luas            print the Luas `make test` runs (interpreter=build dir)
#   make demo | xor      check deps, build, run examples/breast_cancer.lua | examples/xor.lua
#   make regression      check deps, build, run examples/regression.lua (Huber vs MSE)
#   make game            check deps, build, run examples/game_agent.lua
#   make love            build for LuaJIT, run the LÖVE game examples/love/ (needs love)
#   make bench           build, run bench/run.lua: every workload and baseline, one table
#   make bench-conv      build, run bench/conv.lua: the CNN's forward+backward against an MLP
#   make bench-core      build and run bench/core_hot.c: the per-sample hot paths in C
#   make asan            ASan+UBSan build; all specs (under LUA) and two examples against it
#   make capi-check      ASan+UBSan build of the C API's checks (spec/c/capi_check.c), run
#   make fuzz            the libFuzzer targets of fuzz/, FUZZ_SECONDS (30) each (clang)
#   make memcheck        valgrind over the examples, and the malloc-failure sweep
#   make ci-memory       asan, memcheck and a short fuzz pass: what CI adds to make test
#   make fashion-data    Fashion-MNIST in $(FASHION_DIR) (apt-get installs
#                        dataset-fashion-mnist when run as root)
#   make fashion         fashion-data, build, run examples/fashion_mnist.lua
#                        (FASHION_MODEL=mlp|cnn|all, FASHION_SEED=n)
#   make rock            the release rock, packed offline: build/rock/backprop-<version>.<arch>.rock
#   make lib             the C library: build/lib/libbackprop.a and libbackprop.so
#                        (include/backprop.h; examples/c/xor.c: make c-example)
#   make embed           build/embed/host: examples/embed/host.c, a C program embedding Lua 5.4
#                        with backprop linked in statically (libbackprop_lua.a, libbackprop.a)
#   make tsan-embed      that host under ThreadSanitizer, training in two threads at once
#   make install         core.so -> $(DESTDIR)$(LIBDIR)/backprop/, *.lua -> $(DESTDIR)$(LUADIR)/backprop/,
#                        and the C library: backprop.h -> $(INCLUDEDIR), libbackprop.a and
#                        libbackprop.so -> $(CLIBDIR), backprop.pc -> $(PKGCONFIGDIR)
#   make uninstall | clean | deps

# Which Lua. LUA names the interpreter; Debian's lua5.1 .. lua5.4 and luajit
# are known by name, any other is asked its version. Each version gets its
# headers (Debian's paths, or LUA_INCDIR), its own binding objects and its own
# module; the core's objects hold no Lua and serve them all.
LUA        ?= lua5.4
LUAS       ?= lua5.1 lua5.2 lua5.3 lua5.4 luajit
KNOWN_LUAS := lua5.1 lua5.2 lua5.3 lua5.4 luajit
lua_named   = $(or $(filter $(KNOWN_LUAS),$(notdir $(1))),$(if $(filter luajit%,$(notdir $(1))),luajit))
lua_asked   = $(shell $(1) -e 'print(jit and "luajit" or "lua" .. _VERSION:sub(5))' 2>/dev/null)
lua_kind    = $(or $(call lua_named,$(1)),$(call lua_asked,$(1)))
incdir_lua5.1 := /usr/include/lua5.1
incdir_lua5.2 := /usr/include/lua5.2
incdir_lua5.3 := /usr/include/lua5.3
incdir_lua5.4 := /usr/include/lua5.4
incdir_luajit := /usr/include/luajit-2.1
# The module's directory for a version: build/ for 5.4, build/<lua>/ else.
lua_build   = $(if $(filter lua5.4,$(1)),$(BUILD),$(BUILD)/$(1))

LUA_KIND   := $(or $(call lua_kind,$(firstword $(LUA))),lua5.4)
LUA_ABI    := $(patsubst lua%,%,$(subst luajit,lua5.1,$(LUA_KIND)))
LUA_INCDIR ?= $(incdir_$(LUA_KIND))
CC         ?= cc
CFLAGS     ?= -O2 -fPIC
LIBFLAG    ?= -shared
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib/lua/$(LUA_ABI)
LUADIR     ?= $(PREFIX)/share/lua/$(LUA_ABI)
DESTDIR    ?=
INSTALL    ?= install
# The C library's places (make install), pkg-config's names for them.
INCLUDEDIR ?= $(PREFIX)/include
CLIBDIR    ?= $(PREFIX)/lib
PKGCONFIGDIR ?= $(CLIBDIR)/pkgconfig

# Always added. -std comes first so a user CFLAGS may pick another standard;
# -fPIC and the warnings come after so overriding CFLAGS cannot drop them.
# -fvisibility=hidden: a shared object exports only what is marked so, the
# module luaopen_backprop_core (LBP_EXPORT), libbackprop.so the public C
# API (BP_API, include/backprop.h); the core's own functions stay inside.
BP_CFLAGS  := -std=c99 $(filter-out -fPIC,$(CFLAGS)) -fPIC -fvisibility=hidden -Wall -Wextra
BP_LIBS    := -lm -pthread

# make BLAS=openblas: products through OpenBLAS's cblas_sgemm (small ones
# stay on our kernels). The default build has no dependency.
BLAS       ?=
ifeq ($(BLAS),openblas)
BP_CFLAGS  += -DBP_USE_CBLAS
BP_LIBS    += -lopenblas
else ifneq ($(BLAS),)
$(error BLAS=$(BLAS): only BLAS=openblas is supported)
endif

BUILD      := build
OBJDIR     := $(BUILD)/obj
LUA_BUILD  := $(call lua_build,$(LUA_KIND))
MODULE     := $(LUA_BUILD)/backprop/core.so
# The binding's objects, per version: build/obj/<lua>/.
LOBJDIR    := $(OBJDIR)/$(LUA_KIND)

CORE_SRCS  := $(sort $(wildcard src/core/*/*.c))
BIND_SRCS  := $(sort $(wildcard src/lua/*.c))
SRCS       := $(CORE_SRCS) $(BIND_SRCS)
CORE_OBJS  := $(patsubst src/%.c,$(OBJDIR)/%.o,$(CORE_SRCS))
BIND_OBJS  := $(patsubst src/lua/%.c,$(LOBJDIR)/%.o,$(BIND_SRCS))
OBJS       := $(CORE_OBJS) $(BIND_OBJS)
# The C API (include/backprop.h) over the core: in the C library only.
CAPI_SRCS  := $(sort $(wildcard src/capi/*.c))
CAPI_OBJS  := $(patsubst src/%.c,$(OBJDIR)/%.o,$(CAPI_SRCS))
DEPFILES   := $(OBJS:.o=.d) $(CAPI_OBJS:.o=.d)
LUA_MODS   := $(sort $(wildcard src/backprop/*.lua))

# In-place module paths (the ";;" keeps Lua's default paths after ours).
# LUA_PATH_5_x/LUA_CPATH_5_x would take precedence over these, so drop them.
LUA_UNSET  := -u LUA_PATH_5_2 -u LUA_CPATH_5_2 -u LUA_PATH_5_3 -u LUA_CPATH_5_3 \
              -u LUA_PATH_5_4 -u LUA_CPATH_5_4
INPLACE    := env $(LUA_UNSET) LUA_PATH='src/?.lua;src/?/init.lua;;' LUA_CPATH='$(LUA_BUILD)/?.so;;'
DEPS_ENV   := LUA='$(LUA)' LUA_INCDIR='$(LUA_INCDIR)' CC='$(CC)'
FASHION_DIR ?= /usr/share/datasets/fashion-mnist
FASHION_MODEL ?= all
FASHION_SEED  ?= 1

# The Luas of LUAS installed here (interpreter on PATH, headers present), as
# interpreter=module directory; evaluated when used, after deps.sh ran.
luas_here   = $(foreach v,$(LUAS),$(call lua_here,$(v),$(call lua_kind,$(v))))
lua_here    = $(if $(and $(2),$(shell command -v $(1) 2>/dev/null),$(wildcard $(call incdir_for,$(1),$(2))/lua.h)),$(1)=$(call lua_build,$(2)))
# LUA_INCDIR as given for LUA itself; Debian's path for the others.
incdir_for  = $(if $(filter $(1),$(LUA)),$(LUA_INCDIR),$(incdir_$(2)))

.PHONY: all modules luas lib c-example capi-check embed tsan-embed test check demo xor regression game love \
        bench bench-conv bench-core asan rock install uninstall fuzz memcheck-deps fuzz-build memcheck \
        memcheck-sweep memcheck-valgrind ci-memory clean deps fashion-data fashion FORCE
.DEFAULT_GOAL := all

all: $(MODULE)

modules:
	@$(foreach v,$(luas_here),$(MAKE) --no-print-directory LUA=$(firstword $(subst =, ,$(v))) \
	  LUA_INCDIR='$(call incdir_for,$(firstword $(subst =, ,$(v))),$(call lua_kind,$(firstword $(subst =, ,$(v)))))' all &&) true

luas:
	@echo $(luas_here)

# Stamps: relink when the source list or link flags change, recompile when
# the compile flags change (a plain wildcard would miss a deleted .c file).
$(LOBJDIR)/link.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(SRCS) | $(CC) $(LIBFLAG) $(LDFLAGS) $(BP_LIBS)' | cmp -s - $@ 2>/dev/null \
	  || echo '$(SRCS) | $(CC) $(LIBFLAG) $(LDFLAGS) $(BP_LIBS)' > $@
$(OBJDIR)/compile.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(BP_CFLAGS) $(CPPFLAGS)' | cmp -s - $@ 2>/dev/null \
	  || echo '$(CC) $(BP_CFLAGS) $(CPPFLAGS)' > $@
$(LOBJDIR)/compile.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(BP_CFLAGS) $(CPPFLAGS) $(LUA_INCDIR)' | cmp -s - $@ 2>/dev/null \
	  || echo '$(CC) $(BP_CFLAGS) $(CPPFLAGS) $(LUA_INCDIR)' > $@

$(MODULE): $(OBJS) $(LOBJDIR)/link.flags
	$(if $(SRCS),,$(error no C sources found in src/core/ or src/lua/))
	$(if $(wildcard $(LUA_INCDIR)/lua.h),,$(error no lua.h in LUA_INCDIR=$(LUA_INCDIR) (for LUA=$(LUA)): \
	  install the headers (tools/deps.sh) or set LUA_INCDIR))
	@mkdir -p $(@D)
	$(CC) $(LIBFLAG) -o $@ $(OBJS) $(LDFLAGS) $(BP_LIBS)

# The core is pure C: it gets no Lua include directory, so a stray
# #include <lua.h> in src/core fails to compile.
$(OBJDIR)/core/%.o: src/core/%.c $(OBJDIR)/compile.flags
	@mkdir -p $(@D)
	$(CC) $(BP_CFLAGS) $(CPPFLAGS) -Isrc/core -MMD -MP -c -o $@ $<

$(LOBJDIR)/%.o: src/lua/%.c $(LOBJDIR)/compile.flags
	@mkdir -p $(@D)
	$(CC) $(BP_CFLAGS) $(CPPFLAGS) -Isrc/core -I$(LUA_INCDIR) -MMD -MP -c -o $@ $<

-include $(DEPFILES)

# --- the C library ---------------------------------------------------------
# libbackprop.a and libbackprop.so: the core's objects (the module's own)
# and the C API's, no Lua. The shared library exports the API alone (BP_API
# in include/backprop.h; everything else is hidden). The version is the
# header's; while it is 0.x a minor release may change the API, so the
# soname carries major.minor (libbackprop.so.0.1).
VERSION    := $(shell sed -n 's/^\#define BACKPROP_VERSION "\(.*\)"$$/\1/p' include/backprop.h)
SONAME     := libbackprop.so.$(subst $() ,.,$(wordlist 1,2,$(subst ., ,$(VERSION))))
CLIB       := $(BUILD)/lib
LIB_A      := $(CLIB)/libbackprop.a
LIB_SO     := $(CLIB)/libbackprop.so.$(VERSION)

$(OBJDIR)/capi/%.o: src/capi/%.c $(OBJDIR)/compile.flags
	@mkdir -p $(@D)
	$(CC) $(BP_CFLAGS) $(CPPFLAGS) -Iinclude -Isrc/core -MMD -MP -c -o $@ $<

lib: $(LIB_A) $(LIB_SO)

$(LIB_A): $(CORE_OBJS) $(CAPI_OBJS)
	@mkdir -p $(@D)
	@rm -f $@
	$(AR) rcs $@ $^

$(LIB_SO): $(CORE_OBJS) $(CAPI_OBJS) $(LOBJDIR)/link.flags
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,$(SONAME) -o $@ $(CORE_OBJS) $(CAPI_OBJS) $(LDFLAGS) $(BP_LIBS)
	@ln -sf $(notdir $@) $(CLIB)/$(SONAME)
	@ln -sf $(SONAME) $(CLIB)/libbackprop.so

# examples/c/xor.c against the library in the checkout, statically.
C_XOR      := $(BUILD)/examples/xor
$(C_XOR): examples/c/xor.c include/backprop.h $(LIB_A)
	@mkdir -p $(@D)
	$(CC) -std=c99 -O2 -Wall -Wextra -Iinclude -o $@ $< $(LIB_A) $(LDFLAGS) $(BP_LIBS)

c-example: $(C_XOR)
	cd $(BUILD)/examples && ./xor xor.bpnet

deps:
	@$(DEPS_ENV) bash tools/deps.sh

# Every spec under every Lua of LUAS installed here, each against its own
# module; one closing line counts them all.
test:
	@$(DEPS_ENV) bash tools/deps.sh test
	@$(MAKE) --no-print-directory -s check

check: modules
	@LUAS='$(luas_here)' bash tools/test.sh

fashion-data:
	@FASHION_DIR='$(FASHION_DIR)' bash tools/fashion-data.sh

demo:
	@$(DEPS_ENV) bash tools/deps.sh
	@$(MAKE) --no-print-directory -s all
	$(INPLACE) $(LUA) examples/breast_cancer.lua

xor:
	@$(DEPS_ENV) bash tools/deps.sh
	@$(MAKE) --no-print-directory -s all
	$(INPLACE) $(LUA) examples/xor.lua

regression:
	@$(DEPS_ENV) bash tools/deps.sh
	@$(MAKE) --no-print-directory -s all
	$(INPLACE) $(LUA) examples/regression.lua

game:
	@$(DEPS_ENV) bash tools/deps.sh
	@$(MAKE) --no-print-directory -s all
	$(INPLACE) $(LUA) examples/game_agent.lua

# The LÖVE example: LÖVE 11 runs LuaJIT, so the module built for LuaJIT
# (build/luajit/), which examples/love/main.lua finds from the checkout.
love:
	@$(MAKE) --no-print-directory -s LUA=luajit LUA_INCDIR='$(incdir_luajit)' deps all
	@command -v love >/dev/null || { echo "make love: needs LÖVE 11 (apt-get install love)" >&2; exit 1; }
	love examples/love

# Full-data training: minutes, not part of `make test`.
fashion:
	@$(DEPS_ENV) bash tools/deps.sh
	@FASHION_DIR='$(FASHION_DIR)' bash tools/fashion-data.sh
	@$(MAKE) --no-print-directory -s all
	FASHION_DIR='$(FASHION_DIR)' $(INPLACE) $(LUA) examples/fashion_mnist.lua $(FASHION_MODEL) $(FASHION_SEED)

# Benchmarks (issue 4): bench/run.lua runs every workload against every
# baseline it finds and prints one table. The C helpers are built here; an
# optional one that cannot build (no libfann-dev, no OpenBLAS, no
# bench/gemm.c) is left out and the driver prints a note instead.
BENCH_BIN  := $(BUILD)/bench
BENCH_CC   := $(CC) -std=c99 -O2 -Wall -Wextra

$(BENCH_BIN)/rss: bench/rss.c
	@mkdir -p $(@D)
	$(BENCH_CC) -o $@ $<

# bench/gemm.c: our kernels against OpenBLAS (loaded with dlopen when
# installed); the driver runs it with OPENBLAS_CORETYPE as set and unset.
GEMM_BENCH := $(BENCH_BIN)/gemm
$(GEMM_BENCH): bench/gemm.c $(CORE_SRCS) $(OBJDIR)/compile.flags
	@mkdir -p $(@D)
	$(CC) $(BP_CFLAGS) $(CPPFLAGS) -Isrc/core -o $@ bench/gemm.c $(CORE_SRCS) $(LDFLAGS) $(BP_LIBS) -ldl

# bench/baselines/genann.c: genann 1.0's loops (not packaged), plain C.
$(BENCH_BIN)/genann: bench/baselines/genann.c bench/baselines/bench.h
	@mkdir -p $(@D)
	$(BENCH_CC) -o $@ bench/baselines/genann.c -lm

bench: all $(BENCH_BIN)/rss $(GEMM_BENCH) $(BENCH_BIN)/genann
	@$(if $(call lua_here,luajit,luajit),$(MAKE) --no-print-directory -s LUA=luajit \
	  LUA_INCDIR='$(incdir_luajit)' all,echo "make bench: no luajit, no LuaJIT rows")
	@rm -f $(BENCH_BIN)/fann
	@$(BENCH_CC) -o $(BENCH_BIN)/fann bench/baselines/fann.c -lfloatfann -lm \
	  2>$(BENCH_BIN)/fann.log || echo "make bench: FANN baseline not built, see $(BENCH_BIN)/fann.log"
	@$(INPLACE) LUA='$(LUA)' $(LUA) bench/run.lua

# bench/conv.lua: forward+backward of the Fashion-MNIST CNN against an MLP
# on one batch (BENCH_ROUNDS rounds, default 5).
bench-conv: all
	$(INPLACE) $(LUA) bench/conv.lua $(BENCH_ROUNDS)

# bench/core_hot.c: the per-sample hot paths timed in C, without Lua
# (BENCH_SECONDS per measurement, BENCH_ONLY=b1|b32|game).
CORE_OBJS  := $(patsubst src/%.c,$(OBJDIR)/%.o,$(CORE_SRCS))
$(BENCH_BIN)/core_hot: bench/core_hot.c $(CORE_OBJS)
	@mkdir -p $(@D)
	$(CC) $(BP_CFLAGS) $(CPPFLAGS) -Isrc/core -o $@ bench/core_hot.c $(CORE_OBJS) $(LDFLAGS) $(BP_LIBS)

bench-core: $(BENCH_BIN)/core_hot
	$(BENCH_BIN)/core_hot

# Memory check: the module built with AddressSanitizer and UBSan, then the
# whole spec suite under LUA (lua5.4 unless given; with a longer
# random-misuse sweep) and both examples run against it. Any sanitizer
# report fails the run. The plain build is made too: the specs that run
# the README's commands as written use it.
ASAN_MODULE := $(BUILD)/asan/backprop/core.so
ASAN_CFLAGS := -std=c99 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
               -fno-omit-frame-pointer -fPIC -fvisibility=hidden -Wall -Wextra $(LIBFLAG) -Isrc/core -I$(LUA_INCDIR)
ASAN_RUN    := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
               UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
               LD_PRELOAD="$$($(CC) -print-file-name=libasan.so)"
# $(call asan_lua,dir): LUA against dir/backprop/core.so, under ASan.
asan_lua     = $(ASAN_RUN) env $(LUA_UNSET) LUA_PATH='src/?.lua;src/?/init.lua;;' LUA_CPATH='$(1)/?.so' $(LUA)
asan:
	@$(DEPS_ENV) bash tools/deps.sh test
	@$(MAKE) --no-print-directory -s all
	@mkdir -p $(dir $(ASAN_MODULE))
	$(CC) $(ASAN_CFLAGS) -o $(ASAN_MODULE) $(SRCS) -lm -pthread
	$(ASAN_RUN) BACKPROP_FUZZ_ROUNDS=100000 busted --lua='$(LUA)' --cpath='$(BUILD)/asan/?.so'
	$(call asan_lua,$(BUILD)/asan) examples/xor.lua > /dev/null
	$(call asan_lua,$(BUILD)/asan) examples/breast_cancer.lua --modern > /dev/null
	@echo "make asan: no sanitizer reports"

# --- a C host that embeds Lua 5.4 and links backprop statically ----------
# build/lib/libbackprop_lua.a: the binding's objects for Lua 5.4,
# src/embed/embed.c (luaopen_backprop) and src/backprop/*.lua as C strings
# (tools/embed_lua.lua, generated into build/embed/); with libbackprop.a it
# is all a host needs. examples/embed/host.c is one (game.lua and
# train.lua compiled in too), linked with Lua's static library when Debian
# ships it (liblua5.4.a), else with the shared one. tsan-embed builds the
# host and every source under ThreadSanitizer and runs its two-thread
# training (EMBED_DIR: where it writes).
EMBED      := $(BUILD)/embed
LIB_LUA_A  := $(CLIB)/libbackprop_lua.a
EMBED_HOST := $(EMBED)/host
TSAN_HOST  := $(BUILD)/tsan/host
EMBED_DIR  ?= $(BUILD)/tsan
HOST_LUA   := examples/embed/game.lua examples/embed/train.lua
LUA54_INC  := $(incdir_lua5.4)
LUA54_LIB  := $(or $(wildcard $(shell $(CC) -print-file-name=liblua5.4.a)),-llua5.4)
# src/backprop/x.lua is module backprop.x, init.lua is backprop.
lua_modname = $(patsubst %.init,%,$(subst /,.,$(patsubst src/%.lua,%,$(1))))
EMBED_GEN  = $(firstword $(LUA)) tools/embed_lua.lua

$(EMBED)/backprop_lua.c: tools/embed_lua.lua $(LUA_MODS)
	@mkdir -p $(@D)
	$(EMBED_GEN) $@ lbp_backprop_sources $(foreach f,$(LUA_MODS),$(call lua_modname,$(f))=$(f))

$(EMBED)/host_lua.c: tools/embed_lua.lua $(HOST_LUA)
	@mkdir -p $(@D)
	$(EMBED_GEN) $@ host_sources $(foreach f,$(HOST_LUA),$(basename $(notdir $(f)))=$(f))

$(EMBED)/%.o: $(EMBED)/%.c src/embed/embed.h
	$(CC) $(BP_CFLAGS) -Isrc/embed -I$(LUA54_INC) -c -o $@ $<

$(OBJDIR)/embed/embed.o: src/embed/embed.c src/embed/embed.h $(OBJDIR)/compile.flags
	@mkdir -p $(@D)
	$(CC) $(BP_CFLAGS) $(CPPFLAGS) -Isrc/embed -I$(LUA54_INC) -c -o $@ $<

$(LIB_LUA_A): $(patsubst src/lua/%.c,$(OBJDIR)/lua5.4/%.o,$(BIND_SRCS)) \
              $(OBJDIR)/embed/embed.o $(EMBED)/backprop_lua.o
	$(if $(filter lua5.4,$(LUA_KIND)),,$(error libbackprop_lua.a is for Lua 5.4: run make embed with LUA=lua5.4))
	@mkdir -p $(@D)
	@rm -f $@
	$(AR) rcs $@ $^

# The host embeds Lua 5.4, whatever LUA names.
ifeq ($(LUA_KIND),lua5.4)
embed: $(EMBED_HOST)
else
embed:
	@$(MAKE) --no-print-directory LUA=lua5.4 LUA_INCDIR='$(LUA54_INC)' embed
endif

$(EMBED_HOST): examples/embed/host.c $(EMBED)/host_lua.o $(LIB_LUA_A) $(LIB_A)
	$(CC) -std=c99 -O2 -Wall -Wextra -Isrc/embed -I$(LUA54_INC) -o $@ examples/embed/host.c \
	  $(EMBED)/host_lua.o $(LIB_LUA_A) $(LIB_A) $(LUA54_LIB) $(LDFLAGS) $(BP_LIBS) -ldl

$(TSAN_HOST): examples/embed/host.c $(EMBED)/host_lua.c $(EMBED)/backprop_lua.c src/embed/embed.c \
              src/embed/embed.h $(CORE_SRCS) $(BIND_SRCS)
	@mkdir -p $(@D)
	$(CC) -std=c99 -g -O1 -fsanitize=thread -fPIE -pie -Wall -Wextra -Isrc/core -Isrc/lua -Isrc/embed \
	  -I$(LUA54_INC) -o $@ examples/embed/host.c $(EMBED)/host_lua.c $(EMBED)/backprop_lua.c \
	  src/embed/embed.c $(CORE_SRCS) $(BIND_SRCS) $(LUA54_LIB) -lm -ldl -pthread

tsan-embed: $(TSAN_HOST)
	@mkdir -p '$(EMBED_DIR)'
	TSAN_OPTIONS='halt_on_error=1 exitcode=66' $(TSAN_HOST) train '$(EMBED_DIR)'

# The C API's checks (spec/c/capi_check.c: bad input, determinism, files
# for spec/capi_spec.lua), built with the C library's sources under
# AddressSanitizer and UBSan and run; writes its files into CAPI_DIR.
CAPI_CHECK := $(BUILD)/asan/capi_check
CAPI_DIR   ?= $(BUILD)/asan
$(CAPI_CHECK): spec/c/capi_check.c include/backprop.h $(CORE_SRCS) $(CAPI_SRCS)
	@mkdir -p $(@D)
	$(CC) -std=c99 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	  -fno-omit-frame-pointer -Wall -Wextra -Iinclude -Isrc/core \
	  -o $@ spec/c/capi_check.c $(CAPI_SRCS) $(CORE_SRCS) -lm -pthread

capi-check: $(CAPI_CHECK)
	@mkdir -p '$(CAPI_DIR)'
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(CAPI_CHECK) '$(CAPI_DIR)'

# ---- Fuzzing (fuzz/; see README "Checking memory and fuzzing") ----
#
#   make fuzz            build the libFuzzer targets (clang, ASan, UBSan) and
#                        run each for FUZZ_SECONDS (30), FUZZ_JOBS at a time
#                        (2); FUZZ_TARGETS picks some. Fails on a crash, a
#                        leak, a sanitizer report or a broken invariant.
#   make fuzz-build      the targets only: build/fuzz/bin/<target>
#
# The core and the binding are instrumented for coverage and the
# sanitizers; the kernels (src/core/kernels/) are compiled plain -O2:
# clang's coverage build of the AVX-512 gemm alone takes over ten minutes,
# and what the targets feed them is a loaded network's forward pass, not
# file bytes (make asan checks the kernels under the sanitizers).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 30
FUZZ_JOBS    ?= 2
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_ALL     := $(sort $(basename $(notdir $(filter-out fuzz/fuzz.c,$(wildcard fuzz/*.c)))))
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
# Read buffers of a few bytes (csv.c, idx.c): small inputs then cross
# buffer boundaries as large files do.
FUZZ_CFLAGS  := -std=c99 -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Isrc/core \
                -DBP_CSV_CHUNK=61 -DBP_IDX_BUFSIZE=13
FUZZ_OBJS    := $(patsubst src/%.c,$(FUZZ_DIR)/obj/%.o,$(CORE_SRCS))
FUZZ_LIBS_gunzip := -lz    # the reference decoder (zlib1g-dev)
# lua_load runs the binding and the Lua modules in a Lua 5.4 state.
FUZZ_LUA_INC := $(incdir_lua5.4)
FUZZ_BIND_OBJS := $(patsubst src/lua/%.c,$(FUZZ_DIR)/obj/lua/%.o,$(BIND_SRCS))
FUZZ_LIBS_lua_load := -llua5.4 -ldl
$(FUZZ_DIR)/bin/lua_load: $(FUZZ_BIND_OBJS)

$(FUZZ_DIR)/obj/flags: FORCE | memcheck-deps
	@mkdir -p $(@D)
	@echo '$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN)' | cmp -s - $@ 2>/dev/null \
	  || echo '$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN)' > $@

$(FUZZ_DIR)/obj/core/kernels/%.o: src/core/kernels/%.c $(FUZZ_DIR)/obj/flags
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -O2 -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/obj/core/%.o: src/core/%.c $(FUZZ_DIR)/obj/flags
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/obj/lua/%.o: src/lua/%.c $(FUZZ_DIR)/obj/flags
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -I$(FUZZ_LUA_INC) -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/obj/fuzz/%.o: fuzz/%.c $(FUZZ_DIR)/obj/flags
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -I$(FUZZ_LUA_INC) -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/bin/%: $(FUZZ_DIR)/obj/fuzz/%.o $(FUZZ_DIR)/obj/fuzz/fuzz.o $(FUZZ_OBJS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $(filter %.o,$^) $(FUZZ_LIBS_$*) -lm -pthread

-include $(wildcard $(FUZZ_DIR)/obj/*/*.d $(FUZZ_DIR)/obj/*/*/*.d)

# Objects stay (make would delete them as intermediate files).
.SECONDARY: $(FUZZ_OBJS) $(FUZZ_BIND_OBJS) $(patsubst fuzz/%.c,$(FUZZ_DIR)/obj/fuzz/%.o,$(wildcard fuzz/*.c))

memcheck-deps:
	@$(DEPS_ENV) bash tools/deps.sh memcheck

fuzz-build: $(addprefix $(FUZZ_DIR)/bin/,$(FUZZ_TARGETS))

fuzz: fuzz-build
	@FUZZ_DIR='$(FUZZ_DIR)' bash fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_JOBS) $(FUZZ_TARGETS)

# ---- Memory checks (memcheck/; see README "Checking memory and fuzzing") ----
#
#   make memcheck        valgrind over the examples, then the malloc-failure sweep
#   make memcheck-valgrind   every example under valgrind (VALGRIND_JOBS at a time, 2)
#   make memcheck-sweep  memcheck/sweep.lua: each allocation of build, train,
#                        save and load failed in turn (SWEEP=name picks scenarios)
#   make ci-memory       what CI runs before make test: asan, memcheck, and
#                        make fuzz for CI_FUZZ_SECONDS (20) per target
#
# The sweep's module: the ASan/UBSan build with -DBP_ALLOC_FAULTS and
# memcheck/lfaults.c (the failure injection), which the module users get
# has neither of.
FAULTS_MODULE := $(BUILD)/faults/backprop/core.so
$(FAULTS_MODULE): $(SRCS) memcheck/lfaults.c $(wildcard src/core/*/*.h src/lua/*.h)
	@mkdir -p $(@D)
	$(CC) $(ASAN_CFLAGS) -DBP_ALLOC_FAULTS -o $@ $(SRCS) memcheck/lfaults.c -lm -pthread

memcheck-sweep: memcheck-deps $(FAULTS_MODULE)
	$(call asan_lua,$(BUILD)/faults) memcheck/sweep.lua $(FAULTS_MODULE) $(SWEEP)

memcheck-valgrind: memcheck-deps all
	@LUA='$(LUA)' LUA_CPATH_DIR='$(LUA_BUILD)' bash memcheck/valgrind.sh $(VALGRIND_JOBS)

memcheck: memcheck-valgrind memcheck-sweep

CI_FUZZ_SECONDS ?= 20
ci-memory:
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory memcheck
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(CI_FUZZ_SECONDS)

# The release rock, offline from this checkout: `luarocks make` of the
# release rockspec (built in a copy, as the builtin backend writes objects
# next to the sources) into a tree in ROCK_DIR, then `luarocks pack` of the
# installed rock there. A source rock is packed from the pushed tag instead:
# luarocks pack $(RELEASE_SPEC).
RELEASE_SPEC := $(firstword $(filter-out %-scm-1.rockspec,$(wildcard rockspec/backprop-*.rockspec)))
RELEASE    := $(patsubst rockspec/backprop-%.rockspec,%,$(RELEASE_SPEC))
ROCK_DIR   ?= $(BUILD)/rock
LUAROCKS   ?= luarocks --lua-version=$(LUA_ABI)
rock:
	$(if $(RELEASE_SPEC),,$(error no release rockspec in rockspec/))
	@rm -rf '$(ROCK_DIR)' && mkdir -p '$(ROCK_DIR)/src'
	@tar --exclude=./.git --exclude=./build -cf - . | tar -C '$(ROCK_DIR)/src' -xf -
	cd '$(ROCK_DIR)/src' && $(LUAROCKS) make '$(CURDIR)/$(RELEASE_SPEC)' --tree ../tree --deps-mode=none
	cd '$(ROCK_DIR)' && $(LUAROCKS) pack backprop $(RELEASE) --tree tree
	@rm -rf '$(ROCK_DIR)/src'

install: all lib
	$(INSTALL) -d '$(DESTDIR)$(LIBDIR)/backprop' '$(DESTDIR)$(LUADIR)/backprop'
	$(INSTALL) -m 0755 $(MODULE) '$(DESTDIR)$(LIBDIR)/backprop/core.so'
	$(if $(LUA_MODS),$(INSTALL) -m 0644 $(LUA_MODS) '$(DESTDIR)$(LUADIR)/backprop/')
	$(INSTALL) -d '$(DESTDIR)$(INCLUDEDIR)' '$(DESTDIR)$(CLIBDIR)' '$(DESTDIR)$(PKGCONFIGDIR)'
	$(INSTALL) -m 0644 include/backprop.h '$(DESTDIR)$(INCLUDEDIR)/backprop.h'
	$(INSTALL) -m 0644 $(LIB_A) '$(DESTDIR)$(CLIBDIR)/libbackprop.a'
	$(INSTALL) -m 0755 $(LIB_SO) '$(DESTDIR)$(CLIBDIR)/$(notdir $(LIB_SO))'
	ln -sf $(notdir $(LIB_SO)) '$(DESTDIR)$(CLIBDIR)/$(SONAME)'
	ln -sf $(SONAME) '$(DESTDIR)$(CLIBDIR)/libbackprop.so'
	sed -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@CLIBDIR@|$(CLIBDIR)|' \
	  -e 's|@VERSION@|$(VERSION)|' -e 's|@LIBS@|$(BP_LIBS)|' backprop.pc.in \
	  > '$(DESTDIR)$(PKGCONFIGDIR)/backprop.pc'

uninstall:
	rm -f '$(DESTDIR)$(LIBDIR)/backprop/core.so' \
	  $(patsubst src/backprop/%,'$(DESTDIR)$(LUADIR)/backprop/%',$(LUA_MODS))
	@rmdir '$(DESTDIR)$(LIBDIR)/backprop' '$(DESTDIR)$(LUADIR)/backprop' 2>/dev/null || true
	rm -f '$(DESTDIR)$(INCLUDEDIR)/backprop.h' '$(DESTDIR)$(CLIBDIR)/libbackprop.a' \
	  '$(DESTDIR)$(CLIBDIR)/$(notdir $(LIB_SO))' '$(DESTDIR)$(CLIBDIR)/$(SONAME)' \
	  '$(DESTDIR)$(CLIBDIR)/libbackprop.so' '$(DESTDIR)$(PKGCONFIGDIR)/backprop.pc'

clean:
	rm -rf $(BUILD)
