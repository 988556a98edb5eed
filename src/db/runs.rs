//! The run history (migration 0014 `runs`): Gatehouse records runs, an
//! executor performs them.
//!
//! Invariants:
//! - every function takes a workspace proof (`Allowed<perm::AgentsRun>` to
//!   request, `Allowed<perm::RunsWrite>` to report a status,
//!   `Allowed<perm::RunsRead>` to read) and filters by its workspace *and*
//!   org, so a run or agent id of another workspace or org matches nothing;
//! - a run is requested only of a live agent of that workspace (the insert
//!   selects the agent row itself, so a deleted or foreign agent inserts
//!   nothing);
//! - a status changes only along `RunStatus::can_become`, checked inside the
//!   transaction *and* by a conditional `UPDATE … WHERE status = $from`, so
//!   of two executors racing to move the same run only one wins;
//! - every change writes its audit event (`run.requested`,
//!   `run.status_changed` with `from`/`to`) in the same transaction.

use sqlx::FromRow;
use uuid::Uuid;

use super::audit::{Event, insert_event};
use super::{Db, in_tx, on_pool};
use crate::authz::proof::Allowed;
use crate::authz::proof::perm;
use crate::domain::RunStatus;

/// The columns every run query selects (with the agent's name, for lists).
macro_rules! run_columns {
    () => {
        "r.id, r.agent_id, a.name AS agent_name, r.status, r.input, r.output, r.error, \
         r.requested_by, r.schedule_id, r.due_at, r.created_at, r.started_at, r.finished_at, \
         r.updated_at FROM runs r JOIN resources a ON a.id = r.agent_id"
    };
}
pub(crate) use run_columns;

/// One run as stored.
#[derive(Debug, Clone, FromRow)]
pub struct RunRow {
    pub id: Uuid,
    pub agent_id: Uuid,
    pub agent_name: String,
    pub status: String,
    /// The requester's JSON input, as sent.
    pub input: Option<String>,
    /// The executor's JSON output, on finish.
    pub output: Option<String>,
    pub error: Option<String>,
    /// Who asked: a person's email, `service account: <name>` or
    /// `schedule:<name>`.
    pub requested_by: String,
    pub schedule_id: Option<Uuid>,
    pub due_at: Option<i64>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub updated_at: i64,
}

impl RunRow {
    /// The stored status (the column's CHECK keeps it one of the five).
    pub fn status(&self) -> RunStatus {
        RunStatus::parse(&self.status).unwrap_or(RunStatus::Queued)
    }
}

/// An executor's report: the new status, and on finish the output (a JSON
/// document) or the error.
#[derive(Debug, Clone, Copy)]
pub struct StatusReport<'a> {
    pub to: RunStatus,
    pub output: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// What a status report did.
#[derive(Debug)]
pub enum StatusChange {
    Changed(Box<RunRow>),
    /// No such run in this workspace.
    NotFound,
    /// The run is in `from`, which cannot become the requested status
    /// (possibly because another executor moved it first); nothing changed.
    Illegal {
        from: RunStatus,
    },
}

/// What the transaction of a report decided.
enum Reported {
    Changed,
    NotFound,
    Illegal(RunStatus),
}

/// Filters of a run history; `None` means "any".
#[derive(Debug, Clone, Copy, Default)]
pub struct RunFilter {
    pub status: Option<RunStatus>,
    /// Created at or after this instant.
    pub from: Option<i64>,
    /// Created before this instant.
    pub to: Option<i64>,
}

/// Where a page of runs starts: before this run (newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunCursor {
    pub created_at: i64,
    pub id: Uuid,
}

impl RunCursor {
    pub fn of(run: &RunRow) -> Self {
        RunCursor {
            created_at: run.created_at,
            id: run.id,
        }
    }
    pub fn encode(&self) -> String {
        format!("{}~{}", self.created_at, self.id.simple())
    }
    pub fn decode(s: &str) -> Option<Self> {
        let (at, id) = s.split_once('~')?;
        Some(RunCursor {
            created_at: at.parse().ok()?,
            id: Uuid::parse_str(id).ok()?,
        })
    }
}

impl Db {
    /// Records a run of the live agent `agent_id` of the proof's workspace,
    /// `queued`, requested by the event's actor, with its `run.requested`
    /// event. `None` when there is no such agent there (404).
    pub async fn request_run(
        &self,
        allowed: &Allowed<perm::AgentsRun>,
        agent_id: Uuid,
        input: Option<&str>,
        event: Event,
        now: i64,
    ) -> Result<Option<RunRow>, sqlx::Error> {
        let id = Uuid::now_v7();
        let requested_by = event.actor_label();
        let event = event.on("run", id).in_org(allowed.org());
        let inserted = in_tx!(self, |tx| {
            let inserted = sqlx::query(
                "INSERT INTO runs (id, org_id, workspace_id, agent_id, status, input, \
                 requested_by, created_at, updated_at) \
                 SELECT $1, org_id, workspace_id, id, 'queued', $2, $3, $4, $4 FROM resources \
                 WHERE id = $5 AND workspace_id = $6 AND org_id = $7 AND kind = 'agent' \
                 AND deleted_at IS NULL",
            )
            .bind(id)
            .bind(input)
            .bind(&requested_by)
            .bind(now)
            .bind(agent_id)
            .bind(allowed.workspace_id())
            .bind(allowed.org_id())
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if inserted {
                let event = event.with("agent_id", agent_id.to_string());
                insert_event!(&mut *tx, &event, now)?;
            }
            inserted
        });
        if !inserted {
            return Ok(None);
        }
        self.find_run_in(allowed.workspace_id(), allowed.org_id(), id)
            .await
    }

    /// Moves run `run_id` of the proof's workspace to `report.to`, storing
    /// its output and error when given, with its `run.status_changed` event.
    pub async fn report_run_status(
        &self,
        allowed: &Allowed<perm::RunsWrite>,
        run_id: Uuid,
        report: StatusReport<'_>,
        event: Event,
        now: i64,
    ) -> Result<StatusChange, sqlx::Error> {
        let StatusReport { to, output, error } = report;
        let (ws, org) = (allowed.workspace_id(), allowed.org_id());
        let event = event.on("run", run_id).in_org(allowed.org());
        let outcome = in_tx!(self, |tx| {
            let current: Option<String> = sqlx::query_scalar(
                "SELECT status FROM runs WHERE id = $1 AND workspace_id = $2 AND org_id = $3",
            )
            .bind(run_id)
            .bind(ws)
            .bind(org)
            .fetch_optional(&mut *tx)
            .await?;
            match current.as_deref().and_then(RunStatus::parse) {
                None => Reported::NotFound,
                Some(from) if !from.can_become(to) => Reported::Illegal(from),
                Some(from) => {
                    // `WHERE status = $from`: on PostgreSQL a concurrent
                    // report that committed first makes this match nothing,
                    // so only one executor's transition wins (on SQLite the
                    // IMMEDIATE transaction already serialises them).
                    let changed = sqlx::query(
                        "UPDATE runs SET status = $1, output = COALESCE($2, output), \
                         error = COALESCE($3, error), \
                         started_at = CASE WHEN $1 = 'running' THEN $4 ELSE started_at END, \
                         finished_at = CASE WHEN $5 THEN $4 ELSE finished_at END, \
                         updated_at = $4 \
                         WHERE id = $6 AND workspace_id = $7 AND org_id = $8 AND status = $9",
                    )
                    .bind(to.as_str())
                    .bind(output)
                    .bind(error)
                    .bind(now)
                    .bind(to.is_terminal())
                    .bind(run_id)
                    .bind(ws)
                    .bind(org)
                    .bind(from.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                        == 1;
                    if changed {
                        let event = event.with("from", from.as_str()).with("to", to.as_str());
                        insert_event!(&mut *tx, &event, now)?;
                        Reported::Changed
                    } else {
                        let now_status: Option<String> =
                            sqlx::query_scalar("SELECT status FROM runs WHERE id = $1")
                                .bind(run_id)
                                .fetch_optional(&mut *tx)
                                .await?;
                        Reported::Illegal(
                            now_status
                                .as_deref()
                                .and_then(RunStatus::parse)
                                .unwrap_or(from),
                        )
                    }
                }
            }
        });
        Ok(match outcome {
            Reported::NotFound => StatusChange::NotFound,
            Reported::Illegal(from) => StatusChange::Illegal { from },
            Reported::Changed => self
                .find_run_in(ws, org, run_id)
                .await?
                .map_or(StatusChange::NotFound, |r| {
                    StatusChange::Changed(Box::new(r))
                }),
        })
    }

    /// Run `run_id` of the proof's workspace.
    pub async fn find_run(
        &self,
        allowed: &Allowed<perm::RunsRead>,
        run_id: Uuid,
    ) -> Result<Option<RunRow>, sqlx::Error> {
        self.find_run_in(allowed.workspace_id(), allowed.org_id(), run_id)
            .await
    }

    async fn find_run_in(
        &self,
        workspace_id: Uuid,
        org_id: Uuid,
        run_id: Uuid,
    ) -> Result<Option<RunRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, RunRow>(concat!(
                "SELECT ",
                run_columns!(),
                " WHERE r.id = $1 AND r.workspace_id = $2 AND r.org_id = $3"
            ))
            .bind(run_id)
            .bind(workspace_id)
            .bind(org_id)
            .fetch_optional(pool)
            .await
        })
    }

    /// A page of the proof's workspace's runs — of one agent when `agent`
    /// is given — newest first (keyset on `(created_at, id)`), after the
    /// filters.
    pub async fn run_history(
        &self,
        allowed: &Allowed<perm::RunsRead>,
        agent: Option<Uuid>,
        filter: RunFilter,
        before: Option<RunCursor>,
        limit: i64,
    ) -> Result<Vec<RunRow>, sqlx::Error> {
        let before = before.unwrap_or(RunCursor {
            created_at: i64::MAX,
            id: Uuid::max(),
        });
        on_pool!(self, |pool| {
            sqlx::query_as::<_, RunRow>(concat!(
                "SELECT ",
                run_columns!(),
                " WHERE r.workspace_id = $1 AND r.org_id = $2 \
                 AND ($3 = FALSE OR r.agent_id = $4) AND ($5 = '' OR r.status = $5) \
                 AND r.created_at >= $6 AND r.created_at < $7 \
                 AND (r.created_at < $8 OR (r.created_at = $8 AND r.id < $9)) \
                 ORDER BY r.created_at DESC, r.id DESC LIMIT $10"
            ))
            .bind(allowed.workspace_id())
            .bind(allowed.org_id())
            .bind(agent.is_some())
            .bind(agent.unwrap_or_else(Uuid::nil))
            .bind(filter.status.map_or("", RunStatus::as_str))
            .bind(filter.from.unwrap_or(i64::MIN))
            .bind(filter.to.unwrap_or(i64::MAX))
            .bind(before.created_at)
            .bind(before.id)
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }
}

/// A live schedule of an active workspace, as the scheduler sees it.
#[derive(Debug, Clone, FromRow)]
pub struct ScheduleForJob {
    pub id: Uuid,
    pub org_id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub config: String,
    pub created_at: i64,
    /// The last due time this schedule fired, if ever.
    pub last_due_at: Option<i64>,
}

/// What firing one due time of a schedule did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fired {
    /// A run was queued (and audited).
    Queued,
    /// Another instance had already queued this due time.
    AlreadyFired,
    /// The schedule's agent is missing or deleted: nothing recorded.
    NoAgent,
}

impl Db {
    /// Every live schedule of every active (not archived) workspace, for
    /// the scheduler (`jobs::schedules`), which acts for the platform on
    /// every org: no request reaches this, so there is no proof to take.
    pub async fn schedules_for_job(&self) -> Result<Vec<ScheduleForJob>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, ScheduleForJob>(
                "SELECT s.id, s.org_id, s.workspace_id, s.name, s.config, s.created_at, \
                 f.last_due_at FROM resources s \
                 JOIN workspaces w ON w.id = s.workspace_id AND w.org_id = s.org_id \
                 LEFT JOIN schedule_fires f ON f.schedule_id = s.id \
                 WHERE s.kind = 'schedule' AND s.deleted_at IS NULL AND w.archived_at IS NULL \
                 ORDER BY s.id",
            )
            .fetch_all(pool)
            .await
        })
    }

    /// Queues the run of `schedule`'s due time `due_at` for the live agent
    /// named `agent` in the schedule's workspace, requested by
    /// `schedule:<name>`, and remembers the due time as fired — in one
    /// transaction, audited once per created run. The unique index
    /// `runs_schedule_due` makes a second instance firing the same due time
    /// insert nothing (`ON CONFLICT … DO NOTHING`, repeating the index's
    /// predicate, which both engines need to match a partial index).
    pub async fn fire_schedule(
        &self,
        schedule: &ScheduleForJob,
        agent: &str,
        due_at: i64,
        now: i64,
    ) -> Result<Fired, sqlx::Error> {
        let id = Uuid::now_v7();
        let actor = super::audit::Actor::Schedule {
            id: schedule.id,
            name: schedule.name.clone(),
        };
        let requested_by = actor.label();
        let fired = in_tx!(self, |tx| {
            let agent_id: Option<Uuid> = sqlx::query_scalar(
                "SELECT id FROM resources WHERE workspace_id = $1 AND org_id = $2 \
                 AND kind = 'agent' AND name = $3 AND deleted_at IS NULL",
            )
            .bind(schedule.workspace_id)
            .bind(schedule.org_id)
            .bind(agent)
            .fetch_optional(&mut *tx)
            .await?;
            match agent_id {
                None => Fired::NoAgent,
                Some(agent_id) => {
                    let inserted = sqlx::query(
                        "INSERT INTO runs (id, org_id, workspace_id, agent_id, status, \
                         requested_by, schedule_id, due_at, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $8, $8) \
                         ON CONFLICT (schedule_id, due_at) WHERE schedule_id IS NOT NULL \
                         DO NOTHING",
                    )
                    .bind(id)
                    .bind(schedule.org_id)
                    .bind(schedule.workspace_id)
                    .bind(agent_id)
                    .bind(&requested_by)
                    .bind(schedule.id)
                    .bind(due_at)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                        == 1;
                    sqlx::query(
                        "INSERT INTO schedule_fires (schedule_id, last_due_at) VALUES ($1, $2) \
                         ON CONFLICT (schedule_id) DO UPDATE SET last_due_at = excluded.last_due_at \
                         WHERE schedule_fires.last_due_at < excluded.last_due_at",
                    )
                    .bind(schedule.id)
                    .bind(due_at)
                    .execute(&mut *tx)
                    .await?;
                    if inserted {
                        let event = Event::by(actor)
                            .did("run.requested")
                            .on("run", id)
                            .in_org_established(schedule.org_id)
                            .detail(serde_json::json!({
                                "agent_id": agent_id.to_string(),
                                "agent": agent,
                                "schedule_id": schedule.id.to_string(),
                                "due_at": due_at,
                            }));
                        insert_event!(&mut *tx, &event, now)?;
                        Fired::Queued
                    } else {
                        Fired::AlreadyFired
                    }
                }
            }
        });
        Ok(fired)
    }
}
