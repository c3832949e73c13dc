-- 0024 tenant fairness in the queue, and a machine-readable code beside a failed job's message.
--
-- Claims were ordered by priority and age alone, so one tenant that queued a thousand jobs delayed
-- every other tenant's first job until its backlog drained. Now every queued job carries a `turn`,
-- taken at insert (start-time fair queuing, one queue per tenant): a tenant's next job comes one turn
-- after its own latest queued job, but never before the head of the whole queue. A tenant with nothing
-- queued therefore joins at the head, behind at most one job of each tenant with the same turn, and
-- tenants with backlogs alternate. Claims read `priority DESC, turn, id` from one partial index, as
-- they read `priority DESC, run_at, id` before: still one statement, SKIP LOCKED, batched, fenced.
--
-- `user_id` (the repository's owner) is copied onto the job so that a tenant's latest turn is one probe
-- of a partial index over queued jobs. Partial indexes on status = 'queued' cost nothing to claims and
-- completions: the tuples they write are not queued, so nothing is added to them (see 0014).
--
-- The turn is taken by a trigger, so every way a job is inserted gets one: JobStore, webhook_receive()
-- and bulk inserts alike. In a multi-row statement each row sees the rows written before it by the same
-- statement (a volatile trigger function does), so a tenant's bulk jobs take successive turns too. Two
-- transactions enqueueing for one tenant at once may take the same turn: a tie, ordered by id.
-- A job queued again (a retry after a failure, a rescue, a release, a retry through the API) takes a
-- new turn as well: otherwise a tenant's thousand failed jobs, coming back together with their old
-- turns, would all go before everyone else's. The update trigger's WHEN clause keeps the function call
-- off claims and completions (0014).

ALTER TABLE public.indexing_jobs
  ADD COLUMN user_id uuid,
  ADD COLUMN turn bigint NOT NULL DEFAULT 0,
  ADD COLUMN error_code text;

UPDATE public.indexing_jobs j SET user_id = r.user_id FROM public.repositories r WHERE r.id = j.repository_id;

WITH ranked AS (
  SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY priority DESC, run_at, id) AS n
  FROM public.indexing_jobs WHERE status = 'queued'
)
UPDATE public.indexing_jobs j SET turn = ranked.n FROM ranked WHERE j.id = ranked.id;

DROP INDEX public.indexing_jobs_claim_idx;
CREATE INDEX indexing_jobs_claim_idx ON public.indexing_jobs (priority DESC, turn, id) WHERE status = 'queued';
CREATE INDEX indexing_jobs_tenant_turn_idx ON public.indexing_jobs (user_id, turn) WHERE status = 'queued';

CREATE FUNCTION public.indexing_jobs_take_turn() RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
  SELECT r.user_id INTO NEW.user_id FROM public.repositories r WHERE r.id = NEW.repository_id;
  IF NEW.status = 'queued' THEN
    -- greatest() ignores NULLs: a tenant with nothing queued joins at the head of the queue.
    NEW.turn := coalesce(greatest(
      (SELECT q.turn + 1 FROM public.indexing_jobs q
       WHERE q.user_id = NEW.user_id AND q.status = 'queued' ORDER BY q.turn DESC LIMIT 1),
      (SELECT q.turn FROM public.indexing_jobs q
       WHERE q.status = 'queued' ORDER BY q.priority DESC, q.turn, q.id LIMIT 1)
    ), 0);
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER indexing_jobs_take_turn BEFORE INSERT ON public.indexing_jobs
  FOR EACH ROW EXECUTE FUNCTION public.indexing_jobs_take_turn();
CREATE TRIGGER indexing_jobs_take_turn_again BEFORE UPDATE OF status ON public.indexing_jobs
  FOR EACH ROW WHEN (new.status = 'queued' AND old.status <> 'queued')
  EXECUTE FUNCTION public.indexing_jobs_take_turn();

-- As in 0014, but claims in turn order, and a completion clears error_code with error_message.
CREATE OR REPLACE FUNCTION public.indexing_jobs_finish_and_claim(
  p_worker text, p_done uuid[], p_results jsonb[], p_limit integer
)
RETURNS TABLE (
  id uuid, repository_id uuid, job_type text, attempt integer, max_attempts integer,
  payload jsonb, traceparent text
)
LANGUAGE plpgsql
SET search_path = ''
AS $$
#variable_conflict use_column
BEGIN
  IF cardinality(p_done) > 0 THEN
    -- Fenced by locked_by alone, found by primary key (0012).
    UPDATE public.indexing_jobs j
    SET status = 'completed', result = r.result, finished_at = now(), locked_by = NULL, locked_at = NULL,
        error_message = NULL, error_code = NULL, updated_at = now()
    FROM unnest(p_done, p_results) AS r(id, result)
    WHERE j.id = r.id AND j.locked_by = p_worker;
  END IF;

  IF p_limit > 0 THEN
    -- SKIP LOCKED: concurrent claimers never wait on, or take, each other's rows.
    RETURN QUERY
    UPDATE public.indexing_jobs j
    SET status = 'in_progress', locked_by = p_worker, locked_at = now(), attempt = j.attempt + 1,
        started_at = now(), finished_at = NULL, updated_at = now()
    FROM (
      SELECT q.id FROM public.indexing_jobs q
      WHERE q.status = 'queued' AND q.run_at <= now()
      ORDER BY q.priority DESC, q.turn, q.id
      LIMIT p_limit
      FOR UPDATE SKIP LOCKED
    ) next
    WHERE j.id = next.id
    RETURNING j.id, j.repository_id, j.job_type, j.attempt, j.max_attempts, j.payload, j.traceparent;
  END IF;
END
$$;
