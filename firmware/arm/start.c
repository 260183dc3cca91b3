/*
 * firmware/arm/start.c: what the kernel's ARM test build needs around it,
 * with no C library: an entry point, two Linux system calls (the test
 * runs under qemu-arm, the user-mode emulator, on a Linux host) and the
 * memset and memcpy that the compiler may call for loops and structure
 * copies.  The board's own start-up (vector table, timer and packet
 * interrupts) replaces this file on the chip.
 */
#include <stddef.h>
#include <stdint.h>

#include "firmware/arm/start.h"

static long syscall3(long n, long a, long b, long c)
{
    register long r0 __asm__("r0") = a;
    register long r1 __asm__("r1") = b;
    register long r2 __asm__("r2") = c;
    register long r7 __asm__("r7") = n;
    __asm__ volatile("svc #0" : "+r"(r0) : "r"(r1), "r"(r2), "r"(r7) : "memory");
    return r0;
}

void snn_arm_write(const char *s, size_t n)
{
    while (n) {
        long k = syscall3(4 /* write */, 1, (long)s, (long)n);
        if (k <= 0)
            return;
        s += k;
        n -= (size_t)k;
    }
}

void snn_arm_puts(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    snn_arm_write(s, n);
}

void snn_arm_putu(uint32_t v)
{
    char b[10];
    int n = 0;
    do { /* v % 10 and v / 10 by multiplication: the ARM968 has no divide */
        uint32_t q = (uint32_t)(((uint64_t)v * 0xCCCCCCCDu) >> 35);
        b[n++] = (char)('0' + (v - q * 10));
        v = q;
    } while (v);
    while (n)
        snn_arm_write(&b[--n], 1);
}

void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

void _start(void)
{
    int rc = snn_arm_main();
    syscall3(1 /* exit */, rc, 0, 0);
    for (;;)
        ;
}
