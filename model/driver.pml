/* onceflow's commit protocol with one driver (source.assign = "all", the default;
   docs/protocol.md): the six steps of a batch (src/engine/batch_runner.cc), the driver's loop
   (driver.cc), recovery (driver_recover.cc), task attempts retried and speculative
   (task_scheduler.cc), the sink's progress rows with epochs (sink.pml), keyed state committed
   after the sink with its marker (src/state/state_store.cc), crashes at every fault point and a
   zombie commit of an old epoch. Read model/README.md first. Wrong variants:
   -DWRONG_STATE_BEFORE_SINK, -DWRONG_RESUME_FROM_SINK (see there). */

/* Bounds (model/check.sh may override them with -D). */
#define NT 2                  /* tasks, one per input partition (the steps below name both) */
#ifndef E
#define E 3                   /* records per partition: 2 or 3 batches of 1 or 2 records */
#endif
#ifndef MAXCRASH
#define MAXCRASH 2            /* crashes (kill -9, power loss) over the run */
#endif
#ifndef MAXTHROW
#define MAXTHROW 1            /* retryable failures of a step of the batch */
#endif
#ifndef MAXTASKFAIL
#define MAXTASKFAIL 1         /* failed task attempts over the run */
#endif
#ifndef MAXSPEC
#define MAXSPEC 1             /* speculative twins over the run */
#endif
#ifndef MAXZOMBIE
#define MAXZOMBIE 1           /* commits left in flight by a dead driver */
#endif
#define MAX_TASK_FAILURES 2   /* max_task_failures: attempts of a task in one batch attempt */
#define MAX_BATCH_FAILURES 2  /* max_batch_failures: attempts of a batch */

#include "invariant.pml"
#include "faults.pml"
#include "sink.pml"

/* The checkpoint (durable): the epoch file, the offsets log's last intent, the commits log's last
   commit. The logs are appended and fsynced; only their last records matter to recovery. */
byte  cp_epoch;
short intent_batch = -1;
byte  intent_from[NT];
byte  intent_until[NT];
short commit_batch = -1;

/* The state store (durable): the marker state_batch, and (a ghost) how many times each record's
   state delta has been applied. */
short state_batch = -1;
byte  state_out[NT*E];
#define STATE_OUT(t, o) state_out[(t)*E + (o)]

/* The task attempts of the current call of RunTasks (volatile: the driver's threads, gone with
   it at a crash). An attempt computes its task's output from the batch's ranges, with no side
   effect; the first attempt of a task to finish wins, and the others (a speculative twin, a
   retry still running) are cancelled and hand in nothing. */
bool out_ready[NT];   /* the task has a winner */
byte out_from[NT];    /* the winner's output: the records of [out_from, out_until) */
byte out_until[NT];
byte running[NT];     /* attempts of the task running */
byte task_failed[NT]; /* failed attempts of the task in this call */
byte task_fails;      /* failed attempts over the run (bounded by MAXTASKFAIL) */
byte specs;           /* speculative twins over the run (bounded by MAXSPEC) */

/* The zombie: a commit transaction of a dead driver still in flight (a stalled host, a copy of
   the driver on a restored checkpoint), with that driver's epoch, batch and output. */
byte  zombies;
byte  zombies_live;
byte  z_epoch;
short z_batch;
bool  z_has[NT];
byte  z_from[NT];
byte  z_until[NT];

bool driver_done;

/* The zombie's commit: at any moment, or never. */
proctype Zombie() {
  SINK_LOCALS;
  mtype outcome;
  if
  :: sink_commit(z_epoch, z_batch, z_has[st], z_from[st], z_until[st], outcome)
  :: skip
  fi;
  zombies_live--
}

proctype Driver() {
  SINK_LOCALS;
  byte ep;          /* this run's epoch */
  short nb;         /* the next batch to plan */
  byte pos[NT];     /* where each partition resumes */
  short b;          /* the batch being run, its ranges and tasks */
  byte rf[NT];
  byte ru[NT];
  bool has[NT];
  bool recorded;    /* re-running the unfinished intent (recovery) */
  bool have_out;    /* the batch's output is computed: a crash may leave a zombie commit */
  byte battempt;
  mtype outcome;
  bool sink_holds;
  byte t;           /* loop scratch, zero between steps */
  byte o;

start:
  skip;  /* a label on a d_step would jump into it */
  /* Driver::Open, Checkpoint::Open: the lock, and a new epoch, durably. (RaiseEpochAbove keeps
     it above every epoch in the sink; with the checkpoint never lost it already is.)
     Driver::Recover: CheckSinkAtRecovery (the sink holds every committed batch) and
     CheckStateAtRecovery (the state is at the last batch, or one behind if it is unfinished).
     Either refusal stops the pipeline: the protocol must never lead there. */
  d_step {
    cp_epoch++;
    ep = cp_epoch;
    for (t : 0 .. NT - 1) {
      CHECK(!row_exists[t] || row_epoch[t] < ep,
            "MODEL: the new epoch %d is not above the sink's %d\n", ep, row_epoch[t]);
      CHECK(intent_batch < 0 ||
            SINK_REACH(t) >= (commit_batch < intent_batch -> intent_from[t] : intent_until[t]),
            "MODEL: recovery refuses: the sink lost committed output of partition %d\n", t)
    }
    t = 0;
    CHECK(commit_batch < intent_batch -> (state_batch == intent_batch ||
                                          state_batch == intent_batch - 1)
                                       : state_batch == intent_batch,
          "MODEL: recovery refuses: the state marker %d is not the last batch %d (or one behind)\n",
          state_batch, intent_batch)
  }
  /* 1. An unfinished intent: with the state marker at its batch only the commit record is
     written; else the batch is re-run from the state before it with exactly its ranges (the
     sink skips the tasks it holds). */
  if
  :: intent_batch >= 0 && commit_batch < intent_batch ->
#ifdef WRONG_RESUME_FROM_SINK
    /* WRONG: recovery starts at the sink: a batch the sink holds is taken as done. */
    d_step {
      sink_holds = true;
      for (t : 0 .. NT - 1) {
        if
        :: intent_from[t] < intent_until[t] && row_batch[t] < intent_batch -> sink_holds = false
        :: else
        fi
      }
      t = 0
    }
    if
    :: sink_holds -> sink_holds = false;
#else
    if
    :: state_batch >= intent_batch ->  /* Driver::StateHolds */
#endif
      commit_batch = intent_batch
    :: else ->
      d_step {
        b = intent_batch;
        for (t : 0 .. NT - 1) { rf[t] = intent_from[t]; ru[t] = intent_until[t] }
        t = 0;
        recorded = true
      }
      goto run_batch
    fi
  :: else
  fi;

resume:
  skip;  /* a label on a d_step would jump into it */
  /* 2. Planning continues after the last intent's ranges. Recovery (and every batch) ends where
     the protocol says: the last intent committed, the state marker at it, and the sink's output
     of each partition ending where planning resumes. */
  d_step {
    recorded = false;
    for (t : 0 .. NT - 1) {
      if
      :: intent_batch >= 0 -> pos[t] = intent_until[t]
      :: else -> pos[t] = 0
      fi;
      CHECK(SINK_REACH(t) == pos[t],
            "MODEL: planning resumes partition %d at %d, but the sink's output ends at %d\n",
            t, pos[t], SINK_REACH(t))
    }
    t = 0;
    nb = intent_batch + 1;
    CHECK(commit_batch == intent_batch,
          "MODEL: planning resumes after batch %d, but its commit record is missing\n",
          intent_batch);
    CHECK(state_batch == intent_batch,
          "MODEL: planning resumes after batch %d, but the state marker is at %d\n",
          intent_batch, state_batch)
  }

plan:
  if
  :: pos[0] == E && pos[1] == E -> goto finished
  :: else
  fi;
  /* Step 1, plan: [from, until) per partition, 1 or 2 records (max_records_per_partition and
     the source's end decide; the model lets either happen). */
  atomic {
    b = nb;
    for (t : 0 .. NT - 1) {
      rf[t] = pos[t];
      if
      :: pos[t] < E -> ru[t] = pos[t] + 1
      :: pos[t] + 2 <= E -> ru[t] = pos[t] + 2
      :: pos[t] == E -> ru[t] = E
      fi
    }
    t = 0
  }
  /* Step 2, intent: appended and fsynced. Batches follow each other: no gap, no overlap. */
  d_step {
    for (t : 0 .. NT - 1) {
      CHECK(rf[t] == (intent_batch >= 0 -> intent_until[t] : 0) && rf[t] <= ru[t],
            "MODEL: batch %d of partition %d does not start where the last intent ended\n", b, t)
    }
    t = 0;
    CHECK(b == intent_batch + 1, "MODEL: batch %d follows intent %d\n", b, intent_batch);
    intent_batch = b;
    for (t : 0 .. NT - 1) { intent_from[t] = rf[t]; intent_until[t] = ru[t] }
    t = 0
  }
at_after_intent:
  CRASH_AT(after_intent);

run_batch:  /* BatchRunner::Run from step 3 on (a new batch, or the unfinished one at recovery) */
  skip;  /* a label on a d_step would jump into it */
  d_step {
    battempt = 0;
    for (t : 0 .. NT - 1) { has[t] = rf[t] < ru[t] }
    t = 0
  }

attempt:
  skip;  /* a label on a d_step would jump into it */
  /* Step 3, compute (RunTasks): one attempt per task that reads something. */
  d_step {
    battempt++;
    have_out = false;
    for (t : 0 .. NT - 1) {
      out_ready[t] = !has[t];
      running[t] = has[t];
      task_failed[t] = 0
    }
    t = 0
  }
at_task:
  /* While the tasks run, in any order (RunTasks, task_scheduler.cc): an attempt finishes and
     wins (the others of its task are cancelled); an attempt fails at fault point `task` (action
     throw) and, once none of its task runs, is retried, or after max_task_failures fails the
     batch attempt; a task with one attempt running gets a speculative twin (the code waits for
     half the tasks to be done and for the task to be slow: the model lets it happen at any
     time); the driver crashes (action crash: the attempts are its threads). */
  do
  :: out_ready[0] && out_ready[1] -> break
  :: d_step { !out_ready[0] && running[0] > 0 ->
      out_ready[0] = true; out_from[0] = rf[0]; out_until[0] = ru[0]; running[0] = 0 }
  :: d_step { !out_ready[1] && running[1] > 0 ->
      out_ready[1] = true; out_from[1] = rf[1]; out_until[1] = ru[1]; running[1] = 0 }
  :: atomic { !out_ready[0] && running[0] > 0 && task_fails < MAXTASKFAIL ->
      task_fails++; task_failed[0]++; running[0]--;
      if
      :: running[0] > 0 -> skip  /* its twin runs on */
      :: running[0] == 0 && task_failed[0] < MAX_TASK_FAILURES -> running[0]++  /* a retry */
      :: running[0] == 0 && task_failed[0] >= MAX_TASK_FAILURES ->
        failed_at = task; goto batch_failed
      fi }
  :: atomic { !out_ready[1] && running[1] > 0 && task_fails < MAXTASKFAIL ->
      task_fails++; task_failed[1]++; running[1]--;
      if
      :: running[1] > 0 -> skip  /* its twin runs on */
      :: running[1] == 0 && task_failed[1] < MAX_TASK_FAILURES -> running[1]++  /* a retry */
      :: running[1] == 0 && task_failed[1] >= MAX_TASK_FAILURES ->
        failed_at = task; goto batch_failed
      fi }
  :: d_step { !out_ready[0] && running[0] == 1 && specs < MAXSPEC -> specs++; running[0]++ }
  :: d_step { !out_ready[1] && running[1] == 1 && specs < MAXSPEC -> specs++; running[1]++ }
  :: atomic { crashes < MAXCRASH -> crashed_at = task; crashes++; goto crash }
  od;
  skip;
  /* Compute is deterministic: the output is the intent's ranges' (guarantee 3). */
  d_step {
    for (t : 0 .. NT - 1) {
      CHECK(!has[t] || (out_from[t] == rf[t] && out_until[t] == ru[t]),
            "MODEL: task %d computed other ranges than its intent's\n", t)
    }
    t = 0;
    have_out = true
  }

#ifdef WRONG_STATE_BEFORE_SINK
  goto state_step;  /* WRONG: step 5 before step 4 */
sink_step_done:
  goto state_step_done;
#endif

sink_step:
  /* Step 4, sink commit: every task's output and progress row in one transaction, with this
     run's epoch. Fault points mid_sink_write and before_sink_commit lie inside the transaction. */
at_mid_sink_write:
  FAULT_AT(mid_sink_write);
at_before_sink_commit:
  FAULT_AT(before_sink_commit);
  sink_commit(ep, b, has[st], out_from[st], out_until[st], outcome);
  /* Only an older epoch is fenced, and no driver is newer than this one. */
  CHECK(outcome != FENCED, "MODEL: the newest driver is fenced\n");
  outcome = 0;
at_after_sink_commit:
  FAULT_AT(after_sink_commit);
#ifdef WRONG_STATE_BEFORE_SINK
  goto sink_step_done;
#endif

state_step:
  /* Step 5, state commit: the batch's keyed state deltas and the marker state_batch = b, in one
     atomic write, only after the sink commit. The store refuses a batch at or below its marker
     (an error that stops the pipeline): the protocol never asks for one. */
at_mid_state_commit:
  FAULT_AT(mid_state_commit);
  skip;
  d_step {
    CHECK(b > state_batch, "MODEL: the state store refuses batch %d: its marker is at %d\n",
          b, state_batch);
    state_batch = b;
    for (t : 0 .. NT - 1) {
      o = rf[t];
      do
      :: o < ru[t] ->
        STATE_OUT(t, o)++;
        CHECK(STATE_OUT(t, o) <= 1, "MODEL: the state of record %d:%d is applied twice\n", t, o);
        o++
      :: else -> break
      od
    }
    t = 0;
    o = 0
  }
#ifdef WRONG_STATE_BEFORE_SINK
  goto sink_step;
state_step_done:
#endif
at_after_state_commit:
  CRASH_AT(after_state_commit);

  /* Step 6, commit record: "batch b is done", appended and fsynced. */
at_before_commit_log:
  CRASH_AT(before_commit_log);
  skip;
  d_step {
    commit_batch = b;
    have_out = false
  }
at_after_commit_log:
  CRASH_AT(after_commit_log);
  if
  :: recorded -> goto resume
  :: else ->
    d_step {
      for (t : 0 .. NT - 1) { pos[t] = ru[t] }
      t = 0;
      nb++
    }
    goto plan
  fi;

batch_failed:
  /* A retryable failure: the batch is retried whole with the same intent (max_batch_failures);
     after the last attempt the pipeline stops with the batch unfinished, and is restarted. */
  if
  :: battempt < MAX_BATCH_FAILURES -> goto attempt
  :: else -> goto restart
  fi;

crash:
  /* Every volatile thing is lost; a commit in flight may live on as a zombie. */
  if
  :: atomic { zombies < MAXZOMBIE && have_out ->
      zombies++; zombies_live++;
      z_epoch = ep; z_batch = b;
      for (t : 0 .. NT - 1) {
        z_has[t] = has[t]; z_from[t] = out_from[t]; z_until[t] = out_until[t]
      }
      t = 0;
      run Zombie() }
  :: skip
  fi;
restart:
  skip;  /* a label on a d_step would jump into it */
  /* The driver's memory is gone, its attempts with it. */
  d_step {
    for (t : 0 .. NT - 1) {
      pos[t] = 0; rf[t] = 0; ru[t] = 0; has[t] = false;
      out_ready[t] = false; out_from[t] = 0; out_until[t] = 0; running[t] = 0; task_failed[t] = 0
    }
    t = 0;
    have_out = false; recorded = false; battempt = 0; b = 0; nb = 0; ep = 0
  }
  goto start;

finished:
  driver_done = true
}

/* At the end (every record planned and done, no zombie left): every record's effect is in the
   sink exactly once and in the state exactly once, and the logs agree. */
proctype Audit() {
  byte t;
  byte o;
  (driver_done && zombies_live == 0);
  for (t : 0 .. NT - 1) {
    for (o : 0 .. E - 1) {
      CHECK(OUT(t, o) == 1, "MODEL: record %d:%d is in the sink %d times\n", t, o, OUT(t, o));
      CHECK(STATE_OUT(t, o) == 1, "MODEL: record %d:%d is in the state %d times\n", t, o,
            STATE_OUT(t, o))
    }
    CHECK(SINK_REACH(t) == E, "MODEL: the sink's output of partition %d ends at %d\n", t,
          SINK_REACH(t))
  }
  CHECK(commit_batch == intent_batch && state_batch == intent_batch,
        "MODEL: at the end the logs and the state marker disagree\n")
}

init {
  atomic {
    run Audit();
    run Driver()
  }
}
