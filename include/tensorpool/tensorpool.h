/*
 * tensorpool — umbrella header of the public C API.
 *
 * tensorpool moves camera frames and tensors between processes on one machine through
 * shared-memory pools, speaking the AeronTensorPool protocol byte for byte (see README.md).
 * This header compiles as C11 and as C++.
 */
#ifndef TENSORPOOL_TENSORPOOL_H
#define TENSORPOOL_TENSORPOOL_H

#include "tensorpool/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TP_VERSION_MAJOR 0
#define TP_VERSION_MINOR 1
#define TP_VERSION_PATCH 0

/* "0.1.0": static storage, thread-safe. */
const char *tp_version_string(void);

#ifdef __cplusplus
}
#endif
#endif
