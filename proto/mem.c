/*
 * mem.c - memory for large arrays written once, front to back: a metric
 * history page, the frame that carries it.
 *
 * Faulting such an array in 4 KiB at a time costs more than filling it
 * (tens of milliseconds for a 16 MiB frame on a virtual machine), so its
 * whole 2 MiB stretches are offered to the kernel's transparent huge
 * pages: one fault each instead of 512.  Only a hint; where the kernel
 * says no, nothing changes.
 */
#include <stdint.h>
#include <stdlib.h>

#ifdef __linux__
#include <sys/mman.h>
#endif

#include "ignite/protocol.h"

#define HUGE_PAGE ((uintptr_t)2 << 20)

void
ig_mem_advise_huge(void *p, size_t len)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
	uintptr_t lo = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	uintptr_t hi = ((uintptr_t)p + len) & ~(HUGE_PAGE - 1);

	if (p != NULL && hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
	(void)p;
	(void)len;
#endif
}

void *
ig_mem_alloc_large(size_t len)
{
	void *p = malloc(len ? len : 1);

	if (len >= HUGE_PAGE)
		ig_mem_advise_huge(p, len);
	return p;
}
