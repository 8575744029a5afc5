/* CHECK(cond, format, args...): an invariant of the model. When it fails, the trail's replay
   (spin -t) prints the line starting "MODEL:" that says which promise broke, and spin reports
   the assertion. */
#define CHECK(c, ...) \
  if                   \
  :: !(c) ->           \
    printf(__VA_ARGS__); \
    assert(c)          \
  :: else              \
  fi
