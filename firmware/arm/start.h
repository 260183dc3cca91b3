/*
 * firmware/arm/start.h: output and entry for the kernel's ARM test build
 * (firmware/arm/start.c).
 */
#ifndef SNN_FIRMWARE_ARM_START_H
#define SNN_FIRMWARE_ARM_START_H

#include <stddef.h>
#include <stdint.h>

void snn_arm_write(const char *s, size_t n);
void snn_arm_puts(const char *s);
void snn_arm_putu(uint32_t v);

/* The program: its exit status. */
int snn_arm_main(void);

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void _start(void);

#endif
