CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL,
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

CREATE TABLE specs (
	spec_hash VARCHAR(64) NOT NULL,
	profile VARCHAR(255) NOT NULL,
	canonical_json TEXT NOT NULL,
	source_text TEXT,
	created_ms BIGINT NOT NULL,
	CONSTRAINT pk_specs PRIMARY KEY (spec_hash)
);

CREATE TABLE setups (
	setup_hash VARCHAR(64) NOT NULL,
	study VARCHAR(255) NOT NULL,
	canonical_json TEXT NOT NULL,
	created_ms BIGINT NOT NULL,
	CONSTRAINT pk_setups PRIMARY KEY (setup_hash)
);

CREATE TABLE runs (
	run_id INTEGER NOT NULL,
	spec_hash VARCHAR(64) NOT NULL,
	setup_hash VARCHAR(64) NOT NULL,
	build_hash VARCHAR(64) NOT NULL,
	seed INTEGER NOT NULL,
	profile VARCHAR(255) NOT NULL,
	study VARCHAR(255) NOT NULL,
	status VARCHAR(16) NOT NULL,
	started_ms BIGINT NOT NULL,
	heartbeat_ms BIGINT NOT NULL,
	ended_ms BIGINT,
	git_commit VARCHAR(64),
	git_dirty BOOLEAN,
	versions_json TEXT NOT NULL,
	device VARCHAR(255) NOT NULL,
	host VARCHAR(255) NOT NULL,
	compile_mode VARCHAR(64),
	steps BIGINT,
	step_time_s FLOAT,
	device_hours FLOAT,
	error TEXT, owner VARCHAR(255),
	CONSTRAINT pk_runs PRIMARY KEY (run_id),
	CONSTRAINT fk_runs_spec_hash_specs FOREIGN KEY(spec_hash) REFERENCES specs (spec_hash),
	CONSTRAINT fk_runs_setup_hash_setups FOREIGN KEY(setup_hash) REFERENCES setups (setup_hash),
	CONSTRAINT ck_runs_status CHECK (status IN ('running', 'finished', 'failed', 'interrupted'))
);

CREATE INDEX ix_runs_spec_hash_setup_hash_build_hash_seed ON runs (spec_hash, setup_hash, build_hash, seed);

CREATE INDEX ix_runs_study ON runs (study);

CREATE TABLE artifacts (
	id INTEGER NOT NULL,
	run_id INTEGER NOT NULL,
	kind VARCHAR(32) NOT NULL,
	path TEXT NOT NULL,
	sha256 VARCHAR(64) NOT NULL,
	size_bytes BIGINT NOT NULL,
	timestamp_ms BIGINT NOT NULL,
	CONSTRAINT pk_artifacts PRIMARY KEY (id),
	CONSTRAINT fk_artifacts_run_id_runs FOREIGN KEY(run_id) REFERENCES runs (run_id),
	CONSTRAINT ck_artifacts_kind CHECK (kind IN ('checkpoint', 'video', 'image', 'log', 'report', 'file')),
	CONSTRAINT uq_artifacts_run_id_path UNIQUE (run_id, path)
);

CREATE TABLE metrics (
	id INTEGER NOT NULL,
	run_id INTEGER NOT NULL,
	branch VARCHAR(32) NOT NULL,
	"key" VARCHAR(64) NOT NULL,
	value FLOAT NOT NULL,
	is_nan BOOLEAN NOT NULL,
	step BIGINT,
	chunk INTEGER,
	timestamp_ms BIGINT NOT NULL,
	CONSTRAINT pk_metrics PRIMARY KEY (id),
	CONSTRAINT fk_metrics_run_id_runs FOREIGN KEY(run_id) REFERENCES runs (run_id),
	CONSTRAINT ck_metrics_branch CHECK (branch IN ('replay', 'return_in', 'return_open', 'train', 'write', 'memory'))
);

CREATE INDEX ix_metrics_run_id_branch_key ON metrics (run_id, branch, "key");

CREATE TABLE latest_metrics (
	run_id INTEGER NOT NULL,
	branch VARCHAR(32) NOT NULL,
	"key" VARCHAR(64) NOT NULL,
	chunk INTEGER NOT NULL,
	value FLOAT NOT NULL,
	is_nan BOOLEAN NOT NULL,
	step BIGINT,
	timestamp_ms BIGINT NOT NULL,
	CONSTRAINT pk_latest_metrics PRIMARY KEY (run_id, branch, "key", chunk),
	CONSTRAINT fk_latest_metrics_run_id_runs FOREIGN KEY(run_id) REFERENCES runs (run_id),
	CONSTRAINT ck_latest_metrics_branch CHECK (branch IN ('replay', 'return_in', 'return_open', 'train', 'write', 'memory'))
);

CREATE TABLE case_results (
	id INTEGER NOT NULL,
	run_id INTEGER NOT NULL,
	branch VARCHAR(32) NOT NULL,
	case_id VARCHAR(255) NOT NULL,
	judge VARCHAR(64) NOT NULL,
	judge_version VARCHAR(64) NOT NULL,
	status VARCHAR(16) NOT NULL,
	overall FLOAT,
	scores_json TEXT NOT NULL,
	raw_response TEXT,
	error TEXT,
	timestamp_ms BIGINT NOT NULL,
	CONSTRAINT pk_case_results PRIMARY KEY (id),
	CONSTRAINT fk_case_results_run_id_runs FOREIGN KEY(run_id) REFERENCES runs (run_id),
	CONSTRAINT ck_case_results_branch CHECK (branch IN ('replay', 'return_in', 'return_open', 'train', 'write', 'memory')),
	CONSTRAINT ck_case_results_status CHECK (status IN ('ok', 'failed')),
	CONSTRAINT uq_case_results_run_id_branch_case_id_judge UNIQUE (run_id, branch, case_id, judge)
);

CREATE TABLE run_claims (
	spec_hash VARCHAR(64) NOT NULL,
	setup_hash VARCHAR(64) NOT NULL,
	build_hash VARCHAR(64) NOT NULL,
	seed INTEGER NOT NULL,
	run_id INTEGER,
	claimed_ms BIGINT NOT NULL,
	CONSTRAINT pk_run_claims PRIMARY KEY (spec_hash, setup_hash, build_hash, seed),
	CONSTRAINT fk_run_claims_run_id_runs FOREIGN KEY(run_id) REFERENCES runs (run_id)
);

CREATE TABLE metric_definitions (
	run_id INTEGER NOT NULL,
	branch VARCHAR(32) NOT NULL,
	"key" VARCHAR(64) NOT NULL,
	definition VARCHAR(64) NOT NULL,
	resolution VARCHAR(32),
	detail_json TEXT NOT NULL,
	timestamp_ms BIGINT NOT NULL,
	CONSTRAINT pk_metric_definitions PRIMARY KEY (run_id, branch, "key"),
	CONSTRAINT ck_metric_definitions_branch CHECK (branch IN ('replay', 'return_in', 'return_open', 'train', 'write', 'memory')),
	CONSTRAINT fk_metric_definitions_run_id_runs FOREIGN KEY(run_id) REFERENCES runs (run_id)
);
