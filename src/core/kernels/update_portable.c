/* update_portable.c: the portable loops of update.h (update_rules.h). */
#include "kernels/update_kern.h"

#define VW 1
#define TARGET
#define NAME(name) name##_portable
#include "kernels/update_rules.h"
