// Ordered, append-only. Never edit a migration that has shipped: add a new one.
import type { Database } from 'better-sqlite3'
import { recomputeConsensus } from './repos/consensus'

export interface Migration {
  id: number
  name: string
  sql: string
  /** Data work after the SQL, in the same transaction. */
  run?: (db: Database) => void
}

export const MIGRATIONS: Migration[] = [
  {
    id: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE project_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE classes (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  key        TEXT UNIQUE,
  colour     TEXT NOT NULL,
  position   INTEGER NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE images (
  id          INTEGER PRIMARY KEY,
  sha256      TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),
  phash       TEXT CHECK (phash IS NULL OR length(phash) = 16),
  source_path TEXT,            -- absolute path of the original, referenced in place
  stored_path TEXT,            -- path inside the project, for images with no source file
  file_name   TEXT NOT NULL,
  width       INTEGER NOT NULL,
  height      INTEGER NOT NULL,
  format      TEXT NOT NULL,
  bytes       INTEGER NOT NULL,
  environment TEXT,
  subject_id  TEXT,
  attributes  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(attributes)),
  split_hint  TEXT,
  excluded    INTEGER NOT NULL DEFAULT 0 CHECK (excluded IN (0, 1)),
  missing     INTEGER NOT NULL DEFAULT 0 CHECK (missing IN (0, 1)),
  added_at    TEXT NOT NULL,
  CHECK (source_path IS NOT NULL OR stored_path IS NOT NULL)
);
CREATE INDEX images_environment ON images(environment);
CREATE INDEX images_subject ON images(subject_id);

-- Labels are never overwritten: every change is a new row, so undo, history and agreement
-- all read the same table. class_id NULL records that an annotator cleared their label.
CREATE TABLE annotations (
  id         INTEGER PRIMARY KEY,
  image_id   INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  class_id   INTEGER REFERENCES classes(id),
  annotator  TEXT NOT NULL,
  source     TEXT NOT NULL DEFAULT 'manual',
  action_id  TEXT,             -- groups the rows of one user action (a bulk label is one undo step)
  created_at TEXT NOT NULL
);
CREATE INDEX annotations_image ON annotations(image_id, annotator, id);
CREATE INDEX annotations_action ON annotations(action_id);

CREATE TABLE splits (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  method     TEXT NOT NULL,
  params     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
  created_at TEXT NOT NULL
);
CREATE TABLE split_assignments (
  split_id INTEGER NOT NULL REFERENCES splits(id) ON DELETE CASCADE,
  image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  part     TEXT NOT NULL CHECK (part IN ('train', 'validation', 'test')),
  PRIMARY KEY (split_id, image_id)
) WITHOUT ROWID;

CREATE TABLE flags (
  id                 INTEGER PRIMARY KEY,
  image_id           INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  type               TEXT NOT NULL,
  score              REAL NOT NULL,
  suggested_class_id INTEGER REFERENCES classes(id),
  evidence           TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(evidence)),
  source_version     TEXT,
  status             TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'kept', 'relabeled', 'excluded')),
  stale              INTEGER NOT NULL DEFAULT 0,
  created_at         TEXT NOT NULL,
  resolved_at        TEXT
);
CREATE INDEX flags_image ON flags(image_id);

CREATE TABLE runs (
  id         INTEGER PRIMARY KEY,
  status     TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'cancelled', 'failed', 'interrupted')),
  config     TEXT NOT NULL CHECK (json_valid(config)),
  backend    TEXT,
  backbone   TEXT,
  split_id   INTEGER REFERENCES splits(id),
  started_at TEXT NOT NULL,
  ended_at   TEXT,
  error      TEXT,
  summary    TEXT CHECK (summary IS NULL OR json_valid(summary))
);
CREATE TABLE run_epochs (
  run_id            INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  stage             INTEGER NOT NULL,
  epoch             INTEGER NOT NULL,
  loss              REAL,
  accuracy          REAL,
  val_loss          REAL,
  val_accuracy      REAL,
  images_per_second REAL,
  duration_ms       REAL,
  PRIMARY KEY (run_id, stage, epoch)
) WITHOUT ROWID;

CREATE TABLE models (
  id         INTEGER PRIMARY KEY,
  run_id     INTEGER REFERENCES runs(id),
  path       TEXT NOT NULL,
  format     TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE audit_log (
  id      INTEGER PRIMARY KEY,
  at      TEXT NOT NULL,
  actor   TEXT,
  action  TEXT NOT NULL,
  details TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details))
);
`
  }
]

MIGRATIONS.push({
  id: 2,
  name: 'consensus labels, undoable actions, class deletion',
  sql: `
-- The consensus of each image, kept in step with annotations by the code that writes them, so
-- the library can filter and count 100,000 images without replaying the label history.
CREATE TABLE image_labels (
  image_id         INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
  class_id         INTEGER REFERENCES classes(id),
  votes            INTEGER NOT NULL,
  distinct_classes INTEGER NOT NULL,
  tie              INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX image_labels_class ON image_labels(class_id);


-- One row per user action (a keypress, a bulk edit): what it changed, so undo and redo can
-- replay it backwards or forwards by appending, never by rewriting history.
CREATE TABLE actions (
  seq        INTEGER PRIMARY KEY,
  id         TEXT NOT NULL UNIQUE,
  annotator  TEXT NOT NULL,
  kind       TEXT NOT NULL,
  changes    TEXT NOT NULL CHECK (json_valid(changes)),
  state      TEXT NOT NULL DEFAULT 'done' CHECK (state IN ('done', 'undone', 'discarded')),
  created_at TEXT NOT NULL
);
CREATE INDEX actions_annotator ON actions(annotator, state, seq);

ALTER TABLE classes ADD COLUMN deleted_at TEXT;
CREATE INDEX images_added ON images(added_at);
CREATE INDEX images_file_name ON images(file_name);
`,
  run: (db) => recomputeConsensus(db)
})

MIGRATIONS.push({
  id: 3,
  name: 'predictions, flag runs, review decisions, checklist overrides',
  sql: `
-- What a finished run predicted for each image it evaluated (its validation part at least), so
-- evaluation, flags and dashboards read numbers without loading a model. probs is a JSON array
-- in the order of the run's classes (runs.config.classes).
CREATE TABLE run_predictions (
  run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  part     TEXT NOT NULL CHECK (part IN ('train', 'validation', 'test', 'other')),
  label    INTEGER,            -- index of the true class in the run's classes, NULL if unlabeled
  predicted INTEGER NOT NULL,  -- index of the arg-max class
  probs    TEXT NOT NULL CHECK (json_valid(probs)),
  PRIMARY KEY (run_id, image_id)
) WITHOUT ROWID;
CREATE INDEX run_predictions_image ON run_predictions(image_id);

-- The user has looked at a run's confusion matrix (checklist item 9).
ALTER TABLE runs ADD COLUMN confusion_viewed_at TEXT;

-- One pass of a flagging method: what it ran on and what it estimated (e.g. the noise matrix).
CREATE TABLE flag_runs (
  id             INTEGER PRIMARY KEY,
  type           TEXT NOT NULL,
  source_version TEXT,
  params         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
  stats          TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(stats)),
  created_at     TEXT NOT NULL
);
ALTER TABLE flags ADD COLUMN flag_run_id INTEGER REFERENCES flag_runs(id) ON DELETE SET NULL;
CREATE INDEX flags_type_status ON flags(type, status, score);

-- Every decision taken in the review queue, kept for later analysis (never rewritten).
CREATE TABLE review_decisions (
  id          INTEGER PRIMARY KEY,
  flag_id     INTEGER REFERENCES flags(id) ON DELETE SET NULL,
  image_id    INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  decision    TEXT NOT NULL CHECK (decision IN ('accept', 'keep', 'relabel', 'exclude', 'undo')),
  from_class  INTEGER REFERENCES classes(id),
  to_class    INTEGER REFERENCES classes(id),
  annotator   TEXT NOT NULL,
  action_id   TEXT,
  created_at  TEXT NOT NULL
);
CREATE INDEX review_decisions_flag ON review_decisions(flag_id);

-- Preflight checklist warnings the user chose to override, with their reason; copied into the
-- config of each run started while they stand, and into its model card.
CREATE TABLE checklist_overrides (
  check_id   TEXT PRIMARY KEY,
  reason     TEXT NOT NULL,
  annotator  TEXT,
  created_at TEXT NOT NULL
);
`
})

MIGRATIONS.push({
  id: 4,
  name: 'thumbnails in the database',
  sql: `
-- The ~256 px WebP thumbnail of each image, keyed by content like the image itself. Kept here
-- rather than one file each: written in the same transaction as the image row (never one
-- without the other), and no file to create per image (creating files was ~12% of an import's
-- time here). Projects made before this keep their thumbs/ files, which are still served.
CREATE TABLE thumbnails (
  sha256 TEXT PRIMARY KEY,
  webp   BLOB NOT NULL
);
`
})

export const LATEST_SCHEMA = MIGRATIONS[MIGRATIONS.length - 1].id
