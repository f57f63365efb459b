/*
 * tensorpool — umbrella header of the public C API.
 *
 * tensorpool moves camera frames and tensors between processes on one machine through
 * shared-memory pools, speaking the AeronTensorPool protocol byte for byte (see README.md).
 * This header compiles as C11 and as C++. Walkthrough: docs/api.md.
 *
 *   export.h         TP_API, the mark of an exported function
 *   error.h          error codes, tp_errcode() / tp_errmsg()
 *   types.h          dtypes, tensor description, wire enums, frame view, counters
 *   frame.h          tp_frame_is_intact(), tp_frame_copy()
 *   context.h        tp_context_t: directories, timeouts, clock, log level
 *   client.h         tp_client_t: one transport, one agent thread
 *   driver_client.h  tp_driver_client_t: one lease (attach, keepalive, notices, detach)
 *   producer.h       tp_producer_t: reserve / publish / abort / offer, metadata
 *   consumer.h       tp_consumer_t: poll frames, mapping state
 */
#ifndef TENSORPOOL_TENSORPOOL_H
#define TENSORPOOL_TENSORPOOL_H

#include "tensorpool/export.h"
#include "tensorpool/error.h"
#include "tensorpool/types.h"
#include "tensorpool/frame.h"
#include "tensorpool/context.h"
#include "tensorpool/client.h"
#include "tensorpool/driver_client.h"
#include "tensorpool/producer.h"
#include "tensorpool/consumer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library version. CMakeLists.txt refuses to configure unless project(VERSION) agrees;
 * the SONAME carries major.minor before 1.0 and the major from 1.0 (docs/install.md). */
#define TP_VERSION_MAJOR 0
#define TP_VERSION_MINOR 1
#define TP_VERSION_PATCH 0

/* "0.1.0": static storage, thread-safe. */
TP_API const char *tp_version_string(void);

#ifdef __cplusplus
}
#endif
#endif
