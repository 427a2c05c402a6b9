/*
 * optiinfra/customers.h - finding a customer by id or email.
 */
#ifndef OPTIINFRA_CUSTOMERS_H
#define OPTIINFRA_CUSTOMERS_H

#include "records.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The customer named by `ref` into *out: a UUID is taken as an id, anything
 * else as an email (compared exactly).  OI_ENOTFOUND if there is none.
 */
int oi_customer_lookup(oi_store *store, const char *ref, oi_customer *out);

#ifdef __cplusplus
}
#endif
#endif
