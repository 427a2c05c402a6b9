/*
 * optiinfra.h - the OptiInfra agent state store.  Include this one header.
 *
 * See docs/api.md for a guided tour and an example program.
 */
#ifndef OPTIINFRA_H
#define OPTIINFRA_H

#include "version.h"
#include "alloc.h"
#include "store.h"
#include "number.h"
#include "records.h"
#include "agents.h"
#include "runtime.h"
#include "configs.h"
#include "metrics.h"
#include "metrics_io.h"
#include "migrate.h"
#include "seed.h"
#include "validate.h"
#include "orchestration.h"

#endif
