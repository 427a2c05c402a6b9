/*
 * optiinfra/version.h - which liboptiinfra a program was built with, and
 * which one it runs with.
 *
 * The macros are the version of the headers the program was compiled
 * against; oi_version() is the version of the library loaded at run time.
 * A program built against 1.x runs on any later 1.y (same soname,
 * liboptiinfra.so.1): structs only gain fields at their end, each struct
 * a caller fills carries the version of the header it was written for,
 * and calls are only added.  docs/design.md explains the rules.
 */
#ifndef OPTIINFRA_VERSION_H
#define OPTIINFRA_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

#define OPTIINFRA_VERSION_MAJOR 1
#define OPTIINFRA_VERSION_MINOR 7
#define OPTIINFRA_VERSION_PATCH 0
/** "1.7.0" */
#define OPTIINFRA_VERSION "1.7.0"
/** MAJOR * 10000 + MINOR * 100 + PATCH: 10700 for 1.7.0, comparable with <. */
#define OPTIINFRA_VERSION_NUMBER                                                       \
    (OPTIINFRA_VERSION_MAJOR * 10000 + OPTIINFRA_VERSION_MINOR * 100 + OPTIINFRA_VERSION_PATCH)

/**
 * The version of the library running this call, as OPTIINFRA_VERSION_NUMBER
 * spells it; major, minor and patch (each may be NULL) receive its parts.
 * Compare with OPTIINFRA_VERSION_NUMBER to tell the header a program was
 * built with from the library it runs with.
 */
int oi_version(int *major, int *minor, int *patch);

#ifdef __cplusplus
}
#endif
#endif
