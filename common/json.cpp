// JSON DOM (stub until implemented).
#include "common/json.h"
