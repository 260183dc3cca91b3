/*
 * frontend/target_int.h: the built-in target files, embedded at build
 * time.
 *
 * frontend/CMakeLists.txt reads every targets/NAME.yaml of the source tree
 * into a generated C source (target_builtins.c in the build tree) that
 * defines the table below, sorted by name.  The texts are parsed with the
 * same parser as a user's file (frontend/target_yaml.c).
 */
#ifndef SNN_FRONTEND_TARGET_INT_H
#define SNN_FRONTEND_TARGET_INT_H

#include <stddef.h>

struct snn__target_text {
    const char *name;          /* the file's name without ".yaml" */
    const unsigned char *text; /* the file's bytes, NUL-terminated */
    size_t len;                /* bytes, the NUL not counted */
};

extern const struct snn__target_text snn__target_builtins[];
extern const size_t snn__n_target_builtins;

#endif
