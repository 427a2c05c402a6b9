/*
 * optiinfra.h - the OptiInfra agent state store.  Include this one header.
 *
 * One header per concept, as libgit2 has (docs/api.md is the guided tour):
 *
 *   version.h  alloc.h  types.h  errors.h  times.h  store.h  iter.h
 *   records.h         the ten tables: structs and CRUD
 *   agents.h  customers.h  heartbeat.h  states.h  locks.h
 *   configs.h  capabilities.h  metrics.h  metrics_io.h
 *   events.h  recommendations.h  migrate.h  seed.h  validate.h
 *   tokens.h          API tokens of the HTTP service
 *   values.h          the kinds of value, their limits and validator
 *   backup.h          a consistent copy of an embedded (SQLite) store (1.7)
 */
#ifndef OPTIINFRA_H
#define OPTIINFRA_H

#include "version.h"
#include "alloc.h"
#include "types.h"
#include "errors.h"
#include "times.h"
#include "store.h"
#include "iter.h"
#include "records.h"
#include "agents.h"
#include "customers.h"
#include "heartbeat.h"
#include "states.h"
#include "locks.h"
#include "configs.h"
#include "capabilities.h"
#include "metrics.h"
#include "metrics_io.h"
#include "events.h"
#include "recommendations.h"
#include "migrate.h"
#include "seed.h"
#include "validate.h"
#include "tokens.h"
#include "changes.h"
#include "values.h"
#include "backup.h"

#endif
