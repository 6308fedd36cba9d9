-- A new SQLite register at revision 0008: the schema the migrations build.
-- Written by `python -m app.storage.migrate`; do not edit.
BEGIN TRANSACTION;
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO "alembic_version" VALUES('0008');
CREATE TABLE buildings (
	id INTEGER NOT NULL, 
	site_id INTEGER NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	CONSTRAINT pk_buildings PRIMARY KEY (id), 
	CONSTRAINT fk_buildings_site_id_sites FOREIGN KEY(site_id) REFERENCES sites (id) ON DELETE CASCADE, 
	CONSTRAINT uq_buildings_site_id_name UNIQUE (site_id, name)
);
CREATE TABLE calibration_points (
	result_id INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	error_pct FLOAT NOT NULL, 
	q_m3h FLOAT, 
	dtheta_k FLOAT, 
	interval VARCHAR(4), 
	mpe_initial_pct FLOAT, 
	mpe_in_service_pct FLOAT, 
	acceptance_initial_pct FLOAT, 
	acceptance_in_service_pct FLOAT, 
	pass_initial BOOLEAN, 
	pass_in_service BOOLEAN, 
	in_interval BOOLEAN, 
	CONSTRAINT pk_calibration_points PRIMARY KEY (result_id, seq), 
	CONSTRAINT fk_calibration_points_result_id_calibration_results FOREIGN KEY(result_id) REFERENCES calibration_results (id) ON DELETE CASCADE
);
CREATE TABLE calibration_results (
	id INTEGER NOT NULL, 
	meter_id INTEGER NOT NULL, 
	lot_id INTEGER, 
	tested_on DATE NOT NULL, 
	lab VARCHAR(200), 
	certificate VARCHAR(200), 
	subassembly VARCHAR(20) NOT NULL, 
	initial_verdict VARCHAR(10), 
	in_service_verdict VARCHAR(10), 
	coverage VARCHAR(12), 
	missing_intervals JSON, 
	inputs JSON, 
	notes TEXT, 
	recorded_by VARCHAR(100), 
	recorded_at DATETIME NOT NULL, content_hash VARCHAR(64), 
	CONSTRAINT pk_calibration_results PRIMARY KEY (id), 
	CONSTRAINT fk_calibration_results_lot_id_lots FOREIGN KEY(lot_id) REFERENCES lots (id) ON DELETE SET NULL, 
	CONSTRAINT fk_calibration_results_meter_id_meters FOREIGN KEY(meter_id) REFERENCES meters (id) ON DELETE CASCADE
);
CREATE TABLE commissioning_photos (
	id INTEGER NOT NULL, 
	commissioning_id INTEGER NOT NULL, 
	step VARCHAR(60) NOT NULL, 
	caption TEXT, 
	filename VARCHAR(300), 
	media_type VARCHAR(50) NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	size_bytes INTEGER NOT NULL, 
	data BLOB NOT NULL, 
	taken_at DATETIME, 
	added_by VARCHAR(100), 
	added_at DATETIME NOT NULL, content_hash VARCHAR(64), 
	CONSTRAINT pk_commissioning_photos PRIMARY KEY (id), 
	CONSTRAINT fk_commissioning_photos_commissioning_id_commissioning_records FOREIGN KEY(commissioning_id) REFERENCES commissioning_records (id) ON DELETE CASCADE
);
CREATE TABLE commissioning_records (
	id INTEGER NOT NULL, 
	meter_id INTEGER NOT NULL, 
	installation_id INTEGER, 
	commissioned_on DATE, 
	technician VARCHAR(100), 
	checklist JSON, 
	plausibility JSON, 
	notes TEXT, 
	status VARCHAR(10) NOT NULL, 
	current_step INTEGER NOT NULL, 
	signed_by VARCHAR(100), 
	signed_at DATETIME, 
	created_by VARCHAR(100), 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	version INTEGER NOT NULL, content_hash VARCHAR(64), 
	CONSTRAINT pk_commissioning_records PRIMARY KEY (id), 
	CONSTRAINT fk_commissioning_records_installation_id_installations FOREIGN KEY(installation_id) REFERENCES installations (id) ON DELETE SET NULL, 
	CONSTRAINT fk_commissioning_records_meter_id_meters FOREIGN KEY(meter_id) REFERENCES meters (id) ON DELETE CASCADE
);
CREATE TABLE event_batches (
	id INTEGER NOT NULL, 
	event_id INTEGER NOT NULL, 
	first_meter_id INTEGER NOT NULL, 
	last_meter_id INTEGER NOT NULL, 
	meter_count INTEGER NOT NULL, 
	meter_ids TEXT NOT NULL, 
	data BLOB NOT NULL, 
	CONSTRAINT pk_event_batches PRIMARY KEY (id), 
	CONSTRAINT fk_event_batches_event_id_events FOREIGN KEY(event_id) REFERENCES events (id)
);
CREATE TABLE event_chain (
	id INTEGER NOT NULL, 
	last_event_id INTEGER NOT NULL, 
	last_hash BLOB NOT NULL, 
	CONSTRAINT pk_event_chain PRIMARY KEY (id)
);
INSERT INTO "event_chain" VALUES(1,0,X'0000000000000000000000000000000000000000000000000000000000000000');
CREATE TABLE events (
	id INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
	user VARCHAR(100) NOT NULL, 
	entity VARCHAR(40) NOT NULL, 
	entity_id INTEGER, 
	meter_id INTEGER, 
	action VARCHAR(40) NOT NULL, 
	"before" JSON, 
	"after" JSON, 
	source VARCHAR(300), detail_digest VARCHAR(64), hash BLOB, 
	CONSTRAINT pk_events PRIMARY KEY (id)
);
CREATE TABLE evidence_anchors (
	id INTEGER NOT NULL, 
	event_id INTEGER NOT NULL, 
	item_table VARCHAR(40) NOT NULL, 
	item_id INTEGER NOT NULL, 
	content_hash VARCHAR(64), 
	CONSTRAINT pk_evidence_anchors PRIMARY KEY (id), 
	CONSTRAINT fk_evidence_anchors_event_id_events FOREIGN KEY(event_id) REFERENCES events (id)
);
CREATE TABLE installations (
	id INTEGER NOT NULL, 
	meter_id INTEGER NOT NULL, 
	site_id INTEGER NOT NULL, 
	building_id INTEGER, 
	monitoring_point_id INTEGER, 
	location VARCHAR(300), 
	installed_on DATE, 
	year_only BOOLEAN NOT NULL, 
	removed_on DATE, 
	removal_reason VARCHAR(200), 
	replaced_by_meter_id INTEGER, 
	CONSTRAINT pk_installations PRIMARY KEY (id), 
	CONSTRAINT fk_installations_building_id_buildings FOREIGN KEY(building_id) REFERENCES buildings (id), 
	CONSTRAINT fk_installations_meter_id_meters FOREIGN KEY(meter_id) REFERENCES meters (id) ON DELETE CASCADE, 
	CONSTRAINT fk_installations_monitoring_point_id_monitoring_points FOREIGN KEY(monitoring_point_id) REFERENCES monitoring_points (id), 
	CONSTRAINT fk_installations_replaced_by_meter_id_meters FOREIGN KEY(replaced_by_meter_id) REFERENCES meters (id), 
	CONSTRAINT fk_installations_site_id_sites FOREIGN KEY(site_id) REFERENCES sites (id)
);
CREATE TABLE lot_draws (
	lot_id INTEGER NOT NULL, 
	draw_order INTEGER NOT NULL, 
	meter_id INTEGER NOT NULL, 
	spare BOOLEAN NOT NULL, 
	drawn_at DATETIME NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	CONSTRAINT pk_lot_draws PRIMARY KEY (lot_id, draw_order), 
	CONSTRAINT fk_lot_draws_lot_id_lots FOREIGN KEY(lot_id) REFERENCES lots (id) ON DELETE CASCADE, 
	CONSTRAINT fk_lot_draws_meter_id_meters FOREIGN KEY(meter_id) REFERENCES meters (id), 
	CONSTRAINT uq_lot_draws_lot_id_meter_id UNIQUE (lot_id, meter_id)
);
CREATE TABLE lot_members (
	lot_id INTEGER NOT NULL, 
	meter_id INTEGER NOT NULL, 
	position INTEGER NOT NULL, 
	snapshot JSON, 
	CONSTRAINT pk_lot_members PRIMARY KEY (lot_id, meter_id), 
	CONSTRAINT fk_lot_members_lot_id_lots FOREIGN KEY(lot_id) REFERENCES lots (id) ON DELETE CASCADE, 
	CONSTRAINT fk_lot_members_meter_id_meters FOREIGN KEY(meter_id) REFERENCES meters (id)
);
CREATE TABLE lot_results (
	id INTEGER NOT NULL, 
	lot_id INTEGER NOT NULL, 
	meter_id INTEGER NOT NULL, 
	calibration_result_id INTEGER, 
	error_pct FLOAT, 
	limit_pct FLOAT, 
	defective BOOLEAN, 
	inaccessible BOOLEAN NOT NULL, 
	tested_on DATE, 
	notes TEXT, content_hash VARCHAR(64), 
	CONSTRAINT pk_lot_results PRIMARY KEY (id), 
	CONSTRAINT fk_lot_results_calibration_result_id_calibration_results FOREIGN KEY(calibration_result_id) REFERENCES calibration_results (id) ON DELETE SET NULL, 
	CONSTRAINT fk_lot_results_lot_id_lots FOREIGN KEY(lot_id) REFERENCES lots (id) ON DELETE CASCADE, 
	CONSTRAINT fk_lot_results_meter_id_meters FOREIGN KEY(meter_id) REFERENCES meters (id), 
	CONSTRAINT uq_lot_results_lot_id_meter_id UNIQUE (lot_id, meter_id)
);
CREATE TABLE lot_verdicts (
	id INTEGER NOT NULL, 
	lot_id INTEGER NOT NULL, 
	decided_on DATE NOT NULL, 
	verdict VARCHAR(10) NOT NULL, 
	sample_tested INTEGER, 
	defectives INTEGER, 
	acceptance_number INTEGER, 
	rejection_number INTEGER, 
	retain_until DATE, 
	decided_by VARCHAR(100), 
	notes TEXT, content_hash VARCHAR(64), 
	CONSTRAINT pk_lot_verdicts PRIMARY KEY (id), 
	CONSTRAINT fk_lot_verdicts_lot_id_lots FOREIGN KEY(lot_id) REFERENCES lots (id) ON DELETE CASCADE
);
CREATE TABLE lots (
	id INTEGER NOT NULL, 
	name VARCHAR(200), 
	"key" JSON NOT NULL, 
	rule JSON, 
	purpose VARCHAR(40), 
	formed_at DATETIME NOT NULL, 
	formed_by VARCHAR(100), 
	lot_size INTEGER NOT NULL, 
	level VARCHAR(4), 
	aql FLOAT, 
	inspection VARCHAR(12), 
	code_letter VARCHAR(2), 
	plan_letter VARCHAR(2), 
	sample_size INTEGER, 
	acceptance_number INTEGER, 
	rejection_number INTEGER, 
	seed VARCHAR(100), 
	"plan" JSON, 
	status VARCHAR(20) NOT NULL, 
	notes TEXT, content_hash VARCHAR(64), draw_hash VARCHAR(64), 
	CONSTRAINT pk_lots PRIMARY KEY (id)
);
CREATE TABLE meter_write_frames (
	write_id INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	direction VARCHAR(3) NOT NULL, 
	raw BLOB NOT NULL, 
	CONSTRAINT pk_meter_write_frames PRIMARY KEY (write_id, seq), 
	CONSTRAINT fk_meter_write_frames_write_id_meter_writes FOREIGN KEY(write_id) REFERENCES meter_writes (id) ON DELETE CASCADE
);
CREATE TABLE meter_writes (
	id INTEGER NOT NULL, 
	meter_id INTEGER NOT NULL, 
	commissioning_id INTEGER, 
	kind VARCHAR(10) NOT NULL, 
	ok BOOLEAN NOT NULL, 
	outcome VARCHAR(20) NOT NULL, 
	detail TEXT, 
	"before" JSON, 
	"after" JSON, 
	written_at DATETIME NOT NULL, 
	written_by VARCHAR(100), 
	transport VARCHAR(20), 
	port VARCHAR(300), content_hash VARCHAR(64), 
	CONSTRAINT pk_meter_writes PRIMARY KEY (id), 
	CONSTRAINT fk_meter_writes_commissioning_id_commissioning_records FOREIGN KEY(commissioning_id) REFERENCES commissioning_records (id) ON DELETE SET NULL, 
	CONSTRAINT fk_meter_writes_meter_id_meters FOREIGN KEY(meter_id) REFERENCES meters (id) ON DELETE CASCADE
);
CREATE TABLE "meters" (
	id INTEGER NOT NULL, 
	manufacturer VARCHAR(100) NOT NULL, 
	manufacturer_key VARCHAR(100) NOT NULL, 
	mbus_manufacturer VARCHAR(3), 
	model VARCHAR(100) NOT NULL, 
	serial VARCHAR(100) NOT NULL, 
	mid_class SMALLINT, 
	qp_m3h FLOAT, 
	qi_m3h FLOAT, 
	qp_qi_ratio FLOAT, 
	qs_m3h FLOAT, 
	dn INTEGER, 
	dtheta_min_k FLOAT, 
	dtheta_max_k FLOAT, 
	temp_min_c FLOAT, 
	temp_max_c FLOAT, 
	flow_sensor_position VARCHAR(10), 
	primary_address SMALLINT, 
	secondary_address VARCHAR(8), 
	baud INTEGER, 
	battery_expiry DATE, 
	install_date DATE, 
	install_year_only BOOLEAN NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	site_id INTEGER NOT NULL, 
	building_id INTEGER, 
	monitoring_point_id INTEGER, 
	location VARCHAR(300), 
	extra JSON, 
	notes TEXT, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	version INTEGER NOT NULL, 
	occupant_name VARCHAR(200), 
	flat VARCHAR(100), 
	customer_reference VARCHAR(100), 
	legal_hold BOOLEAN DEFAULT 0 NOT NULL, 
	restrict_processing BOOLEAN DEFAULT 0 NOT NULL, 
	personal_erased_at DATETIME, battery_replaced_on DATE, personal_extra JSON, 
	CONSTRAINT pk_meters PRIMARY KEY (id), 
	CONSTRAINT fk_meters_monitoring_point_id_monitoring_points FOREIGN KEY(monitoring_point_id) REFERENCES monitoring_points (id), 
	CONSTRAINT uq_meters_manufacturer_key_serial UNIQUE (manufacturer_key, serial), 
	CONSTRAINT fk_meters_building_id_buildings FOREIGN KEY(building_id) REFERENCES buildings (id), 
	CONSTRAINT fk_meters_site_id_sites FOREIGN KEY(site_id) REFERENCES sites (id)
);
CREATE TABLE model_aliases (
	id INTEGER NOT NULL, 
	manufacturer VARCHAR(100) NOT NULL, 
	alias VARCHAR(100) NOT NULL, 
	alias_key VARCHAR(100) NOT NULL, 
	model VARCHAR(100) NOT NULL, 
	created_by VARCHAR(100), 
	created_at DATETIME NOT NULL, 
	notes TEXT, 
	CONSTRAINT pk_model_aliases PRIMARY KEY (id), 
	CONSTRAINT uq_model_aliases_manufacturer_alias_key UNIQUE (manufacturer, alias_key)
);
CREATE TABLE monitoring_points (
	id INTEGER NOT NULL, 
	site_id INTEGER NOT NULL, 
	building_id INTEGER, 
	label VARCHAR(100) NOT NULL, 
	mms_id VARCHAR(10), 
	description TEXT, 
	read_interval_min INTEGER, 
	CONSTRAINT pk_monitoring_points PRIMARY KEY (id), 
	CONSTRAINT fk_monitoring_points_building_id_buildings FOREIGN KEY(building_id) REFERENCES buildings (id) ON DELETE SET NULL, 
	CONSTRAINT fk_monitoring_points_site_id_sites FOREIGN KEY(site_id) REFERENCES sites (id) ON DELETE CASCADE, 
	CONSTRAINT uq_monitoring_points_site_id_label UNIQUE (site_id, label)
);
CREATE TABLE personal_columns (
	name VARCHAR(100) NOT NULL, 
	marked_by VARCHAR(100), 
	marked_at DATETIME NOT NULL, 
	CONSTRAINT pk_personal_columns PRIMARY KEY (name)
);
CREATE TABLE personal_values (
	id INTEGER NOT NULL, 
	event_id INTEGER NOT NULL, 
	"key" VARCHAR(200) NOT NULL, 
	personal BOOLEAN NOT NULL, 
	first_meter_id INTEGER NOT NULL, 
	last_meter_id INTEGER NOT NULL, 
	meter_ids TEXT NOT NULL, 
	payload BLOB, 
	digests TEXT NOT NULL, 
	CONSTRAINT pk_personal_values PRIMARY KEY (id), 
	CONSTRAINT fk_personal_values_event_id_events FOREIGN KEY(event_id) REFERENCES events (id)
);
CREATE TABLE radio_survey_locations (
	id INTEGER NOT NULL, 
	survey_id INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	floor VARCHAR(50), 
	flat VARCHAR(50), 
	riser VARCHAR(50), 
	note TEXT, 
	started_at DATETIME, 
	ended_at DATETIME, 
	CONSTRAINT pk_radio_survey_locations PRIMARY KEY (id), 
	CONSTRAINT fk_radio_survey_locations_survey_id_radio_surveys FOREIGN KEY(survey_id) REFERENCES radio_surveys (id) ON DELETE CASCADE, 
	CONSTRAINT uq_radio_survey_locations_survey_id_seq UNIQUE (survey_id, seq)
);
CREATE TABLE radio_survey_telegrams (
	location_id INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	received_at DATETIME NOT NULL, 
	manufacturer VARCHAR(3), 
	identification VARCHAR(8), 
	meter_id INTEGER, 
	rssi_dbm FLOAT, 
	rssi_raw INTEGER, 
	mode VARCHAR(4), 
	crc VARCHAR(4), 
	version INTEGER, 
	medium VARCHAR(40), 
	security VARCHAR(12), 
	status VARCHAR(12), 
	raw BLOB NOT NULL, 
	CONSTRAINT pk_radio_survey_telegrams PRIMARY KEY (location_id, seq), 
	CONSTRAINT fk_radio_survey_telegrams_location_id_radio_survey_locations FOREIGN KEY(location_id) REFERENCES radio_survey_locations (id) ON DELETE CASCADE, 
	CONSTRAINT fk_radio_survey_telegrams_meter_id_meters FOREIGN KEY(meter_id) REFERENCES meters (id) ON DELETE SET NULL
);
CREATE TABLE radio_surveys (
	id INTEGER NOT NULL, 
	site_id INTEGER NOT NULL, 
	name VARCHAR(200), 
	technician VARCHAR(100), 
	notes TEXT, 
	dongle VARCHAR(20), 
	mode VARCHAR(4), 
	sensitivity_dbm FLOAT, 
	margin_db FLOAT NOT NULL, 
	min_ratio FLOAT NOT NULL, 
	min_expected FLOAT NOT NULL, 
	started_at DATETIME, 
	ended_at DATETIME, 
	results JSON, 
	digest VARCHAR(64) NOT NULL, 
	created_by VARCHAR(100), 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_radio_surveys PRIMARY KEY (id), 
	CONSTRAINT fk_radio_surveys_site_id_sites FOREIGN KEY(site_id) REFERENCES sites (id) ON DELETE CASCADE
);
CREATE TABLE readout_frames (
	readout_id INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	direction VARCHAR(3) NOT NULL, 
	raw BLOB NOT NULL, 
	CONSTRAINT pk_readout_frames PRIMARY KEY (readout_id, seq), 
	CONSTRAINT fk_readout_frames_readout_id_readouts FOREIGN KEY(readout_id) REFERENCES readouts (id) ON DELETE CASCADE
);
CREATE TABLE readouts (
	id INTEGER NOT NULL, 
	meter_id INTEGER NOT NULL, 
	commissioning_id INTEGER, 
	read_at DATETIME NOT NULL, 
	read_by VARCHAR(100), 
	mbus_manufacturer VARCHAR(3), 
	identification VARCHAR(8), 
	transport VARCHAR(20), 
	port VARCHAR(300), 
	baud INTEGER, 
	primary_address SMALLINT, 
	decoded JSON, 
	notes TEXT, content_hash VARCHAR(64), 
	CONSTRAINT pk_readouts PRIMARY KEY (id), 
	CONSTRAINT fk_readouts_commissioning_id_commissioning_records FOREIGN KEY(commissioning_id) REFERENCES commissioning_records (id) ON DELETE SET NULL, 
	CONSTRAINT fk_readouts_meter_id_meters FOREIGN KEY(meter_id) REFERENCES meters (id) ON DELETE CASCADE
);
CREATE TABLE sites (
	id INTEGER NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	notes TEXT, 
	CONSTRAINT pk_sites PRIMARY KEY (id), 
	CONSTRAINT uq_sites_name UNIQUE (name)
);
CREATE INDEX ix_events_meter_id_id ON events (meter_id, id);
CREATE INDEX ix_installations_meter_id ON installations (meter_id);
CREATE INDEX ix_lot_verdicts_lot_id ON lot_verdicts (lot_id);
CREATE INDEX ix_calibration_results_meter_id_tested_on ON calibration_results (meter_id, tested_on);
CREATE INDEX ix_lot_members_meter_id ON lot_members (meter_id);
CREATE INDEX ix_commissioning_records_meter_id ON commissioning_records (meter_id);
CREATE INDEX ix_commissioning_records_status ON commissioning_records (status);
CREATE INDEX ix_readouts_commissioning_id ON readouts (commissioning_id);
CREATE INDEX ix_readouts_meter_id_read_at ON readouts (meter_id, read_at);
CREATE INDEX ix_meters_site_id ON meters (site_id);
CREATE INDEX ix_meters_mbus_manufacturer_secondary_address ON meters (mbus_manufacturer, secondary_address);
CREATE INDEX ix_event_batches_first_meter_id_last_meter_id ON event_batches (first_meter_id, last_meter_id);
CREATE INDEX ix_radio_surveys_site_id ON radio_surveys (site_id);
CREATE INDEX ix_radio_survey_telegrams_manufacturer_identification ON radio_survey_telegrams (manufacturer, identification);
CREATE INDEX ix_radio_survey_telegrams_meter_id ON radio_survey_telegrams (meter_id);
CREATE INDEX ix_meter_writes_commissioning_id ON meter_writes (commissioning_id);
CREATE INDEX ix_meter_writes_meter_id_written_at ON meter_writes (meter_id, written_at);
CREATE INDEX ix_commissioning_photos_commissioning_id ON commissioning_photos (commissioning_id);
CREATE INDEX ix_personal_values_first_meter_id_last_meter_id ON personal_values (first_meter_id, last_meter_id);
CREATE INDEX ix_personal_values_event_id ON personal_values (event_id);
CREATE INDEX ix_evidence_anchors_item_table_item_id ON evidence_anchors (item_table, item_id);
CREATE INDEX ix_evidence_anchors_event_id ON evidence_anchors (event_id);
COMMIT;
