/* The fault points of the commit protocol: the names of src/util/fault_points.cc
   (PipelinePoints(), and mid_state_commit), in the order a batch passes them. A crash in the
   model is taken at these points only: each lies right after a durable write or inside an open
   transaction, so together they reach every durable state a crash anywhere can leave. */
mtype = { after_intent, task, mid_sink_write, before_sink_commit, after_sink_commit,
          mid_state_commit, after_state_commit, before_commit_log, after_commit_log };

byte crashes;      /* crashes so far (bounded by MAXCRASH) */
byte throws;       /* retryable step failures so far (bounded by MAXTHROW) */
mtype crashed_at;  /* where the last crash was: read it in a trail */
mtype failed_at;   /* where the last retryable failure was */

/* A crash (kill -9 or power loss) at point p: every process's volatile state is lost; the
   caller's `crash` label restarts it from what is durable. */
#define CRASH_AT(p)                                              \
  if                                                             \
  :: crashes < MAXCRASH -> crashed_at = p; crashes++; goto crash \
  :: skip                                                        \
  fi

/* As CRASH_AT, or the step fails with a retryable error (action `throw`): the caller's
   `batch_failed` label retries the batch with the same intent. */
#define FAULT_AT(p)                                                  \
  if                                                                 \
  :: crashes < MAXCRASH -> crashed_at = p; crashes++; goto crash     \
  :: throws < MAXTHROW -> failed_at = p; throws++; goto batch_failed \
  :: skip                                                            \
  fi
