// Query planning: read plans (core/read_plan.h: filters -> SELECTs, COUNT,
// page fetches) and write plans (core/write_plan.h: store batches, their
// outcomes, the expiry sweep). Include the one you need; this umbrella is for
// code that uses both.
#pragma once

#include "core/read_plan.h"
#include "core/write_plan.h"
