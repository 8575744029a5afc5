/* onceflow's scale-out (source.assign = "group"; docs/protocol.md "Fencing, epochs and claims"):
   two processes share a pipeline's partitions through a consumer group. The group generation is
   the epoch: on each new assignment a process claims its tasks in the sink (Sink::Claim) and
   resumes each partition where its progress row ends; a process whose generation is old (paused
   while its partitions moved) is fenced, and the batch it had planned is abandoned
   (src/engine/group_ownership.cc, driver.cc). Crashes at every fault point. No keyed state: the
   code refuses state with assign = "group". Read model/README.md first. Wrong variants:
   -DWRONG_CLAIM_NO_EPOCH, -DWRONG_COMMIT_NO_EPOCH (see there). */

#define NT 2          /* tasks, one per input partition (the steps below name both) */
#ifndef E
#define E 2           /* records per partition */
#endif
#define NP 2          /* processes in the group (the steps below name both) */
#ifndef GENS
#define GENS 2        /* generations: 1 (every partition to process 0), then rebalances */
#endif
#ifndef MAXCRASH
#define MAXCRASH 1    /* crashes over the run, of either process */
#endif
#define MAXTHROW 0    /* (the batch retry loop is driver.pml's) */

#include "invariant.pml"
#include "faults.pml"
#include "sink.pml"

/* The consumer group: the current generation and which process owns each partition in it. */
byte group_gen;
byte assign[NT];
bool group_done;      /* no more rebalances */

/* Each process's own checkpoint (durable): its last intent and last commit. */
short p_intent[NP] = -1;
short p_commit[NP] = -1;

bool proc_done[NP];

/* Rebalances, at any moment: each a new generation with any assignment. */
proctype Coordinator() {
  byte t;
  do
  :: atomic { group_gen < GENS ->
      group_gen++;
      for (t : 0 .. NT - 1) {
        if
        :: assign[t] = 0
        :: assign[t] = 1
        fi
      }
      t = 0 }
  :: break
  od;
  group_done = true
}

proctype Proc(byte me) {
  SINK_LOCALS;
  byte gen;           /* owned_.epoch: the generation of what this process owns */
  bool owns[NT];      /* owned_.partitions */
  byte refused;       /* refused_epoch_: a generation whose claim was fenced */
  byte g;             /* the assignment as read from the group */
  bool o[NT];
  byte reach[NT];     /* what the claim returned */
  short last[NT];
  byte pos[NT];
  short nb;
  short b;
  byte rf[NT];
  byte ru[NT];
  bool has[NT];
  bool work;
  mtype outcome;
  byte t;

start:
  skip;  /* a label on a d_step would jump into it */
  /* GroupOwnership::Recover: an unfinished batch is closed without a re-run (its partitions
     resume where the sink's rows end, claimed on the next assignment). */
  d_step {
    if
    :: p_commit[me] < p_intent[me] -> p_commit[me] = p_intent[me]
    :: else
    fi;
    nb = p_intent[me] + 1
  }

loop:
  skip;
  /* GroupOwnership::Sync (in PlanNext): the assignment this process sees now. */
  d_step {
    g = group_gen;
    work = false;
    for (t : 0 .. NT - 1) {
      o[t] = assign[t] == me && g != refused && g > 0;
      work = work || o[t] != owns[t]
    }
    t = 0;
    work = work || g != gen
  }
  if
  :: !work -> skip
  :: work && !o[0] && !o[1] ->
    d_step { gen = g; owns[0] = false; owns[1] = false; o[0] = false; o[1] = false }
  :: work && (o[0] || o[1]) ->
    /* Sink::Claim of the partitions it was given, with their generation: a separate
       transaction, so the generation may be old by the time it runs (another process may hold
       a newer one already). */
    sink_claim(g, o[st], reach[st], last[st], outcome);
    if
    :: outcome == FENCED ->
      d_step { refused = g; gen = g; owns[0] = false; owns[1] = false; outcome = 0 }
    :: else ->
      d_step {
        gen = g;
        for (t : 0 .. NT - 1) {
          owns[t] = o[t];
          if
          :: o[t] ->
            pos[t] = reach[t];
            if
            :: last[t] + 1 > nb -> nb = last[t] + 1
            :: else
            fi
          :: else
          fi;
          reach[t] = 0; last[t] = 0
        }
        t = 0;
        outcome = 0
      }
    fi
  fi;
  skip;
  d_step { o[0] = false; o[1] = false; work = (owns[0] && pos[0] < E) || (owns[1] && pos[1] < E) }
  if
  :: !work && group_done && gen == group_gen -> goto finished
  :: !work && !(group_done && gen == group_gen) ->
    (group_gen != gen || group_done); goto loop  /* idle until a rebalance */
  :: else
  fi;

  /* Step 1, plan: its own partitions only, 1 or 2 records each. */
  atomic {
    b = nb;
    for (t : 0 .. NT - 1) {
      rf[t] = pos[t];
      if
      :: owns[t] && pos[t] < E -> ru[t] = pos[t] + 1
      :: owns[t] && pos[t] + 2 <= E -> ru[t] = pos[t] + 2
      :: !owns[t] || pos[t] == E -> ru[t] = pos[t]
      fi;
      has[t] = rf[t] < ru[t]
    }
    t = 0
  }
  /* Step 2, intent (this process's checkpoint). */
  p_intent[me] = b;
at_after_intent:
  CRASH_AT(after_intent);
  /* Step 3, compute: no side effect (attempts, retries, speculation: driver.pml).
     Step 4, sink commit with the generation as epoch. */
at_mid_sink_write:
  CRASH_AT(mid_sink_write);
at_before_sink_commit:
  CRASH_AT(before_sink_commit);
  sink_commit(gen, b, has[st], rf[st], ru[st], outcome);
  if
  :: outcome == FENCED ->
    /* GroupOwnership::Abandon: its partitions moved; the batch is recorded as done without
       effect, and its ranges belong to the new owner. */
    d_step {
      p_commit[me] = b;
      refused = gen; owns[0] = false; owns[1] = false;
      nb = b + 1;
      outcome = 0
    }
    goto loop
  :: else -> outcome = 0
  fi;
at_after_sink_commit:
  CRASH_AT(after_sink_commit);
  /* Step 5: no keyed state in a group. Step 6, commit record. */
at_before_commit_log:
  CRASH_AT(before_commit_log);
  p_commit[me] = b;
at_after_commit_log:
  CRASH_AT(after_commit_log);
  d_step {
    for (t : 0 .. NT - 1) { pos[t] = ru[t]; rf[t] = 0; ru[t] = 0; has[t] = false }
    t = 0;
    nb++
  }
  goto loop;

crash:
  skip;
  /* The process's memory is gone; it restarts and rejoins the group. */
  d_step {
    gen = 0; refused = 0; nb = 0; b = 0;
    for (t : 0 .. NT - 1) {
      owns[t] = false; pos[t] = 0; rf[t] = 0; ru[t] = 0; has[t] = false
    }
    t = 0
  }
  goto start;

finished:
  proc_done[me] = true
}

/* At the end (no more rebalances, every process done): every record's output is in the sink
   exactly once. */
proctype Audit() {
  byte t;
  byte o;
  (group_done && proc_done[0] && proc_done[1]);
  for (t : 0 .. NT - 1) {
    for (o : 0 .. E - 1) {
      CHECK(OUT(t, o) == 1, "MODEL: record %d:%d is in the sink %d times\n", t, o, OUT(t, o))
    }
    CHECK(SINK_REACH(t) == E, "MODEL: the sink's output of partition %d ends at %d\n", t,
          SINK_REACH(t))
  }
}

init {
  atomic {
    /* Generation 1: every partition to process 0. */
    group_gen = 1;
    run Audit();
    run Coordinator();
    run Proc(0);
    run Proc(1)
  }
}
