"""A reports revision, like the boundary revision (0005), and a GiST index on the report points.

Vector tiles, OGC API items and hot spot cells are cached in memory per process, keyed by the
data they were computed from: the boundary revision for boundaries, this revision for reports.
Every statement that writes ``report`` sets a fresh random value (never a counter: a counter
bumped in a transaction that rolls back would come round again with other contents).

Unlike the boundaries, reports are written by many concurrent transactions (intake, status
moves, ratings), and an UPDATE of one row holds its lock until commit: one revision row would
make every report-writing transaction wait for the one before it. So the revision is 16 rows,
and a statement updates the row of its backend (``pg_backend_pid() % 16``): two sessions contend
only when their pids agree modulo 16. Readers take all 16 in the same statement as the reports
they vouch for (an uncommitted write is invisible to both).

PostGIS's spatial_ref_sys lacks EPSG:9214 ("VN-2000 / TM-3 107-00", the VN-2000 zone of Thừa
Thiên Huế, which the OGC API offers): it is added with its EPSG authority, so PostGIS lets PROJ
choose the datum transformation (EPSG's "VN-2000 to WGS 84 (2)"), as pyproj does.

The index on ``geom`` (the report table had one on ``geom::geography`` only) serves the tiles'
and the OGC items' envelopes (``&&`` on planar boxes).

Revision ID: 0007_report_revision
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0007_report_revision"
# After the notification outbox: the four 0007 migrations of one session, chained.
down_revision = "0007_notification_outbox"
branch_labels = None
depends_on = None

SLOTS = 16

BUMP = f"""
CREATE FUNCTION report_revision_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE report_revision SET revision = gen_random_uuid() WHERE slot = pg_backend_pid() % {SLOTS};
    RETURN NULL;
END;
$$;
CREATE TRIGGER report_revision
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON report
FOR EACH STATEMENT EXECUTE FUNCTION report_revision_bump();
"""


VN2000_HUE_WKT = (
    'PROJCS["VN-2000 / TM-3 107-00",GEOGCS["VN-2000",DATUM["Vietnam_2000",SPHEROID["WGS 84",'
    '6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6756"]],PRIMEM["Greenwich"'
    ',0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AUTHORITY["EPSG","4756"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0]'
    ',PARAMETER["central_meridian",107],PARAMETER["scale_factor",0.9999],PARAMETER['
    '"false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]]'
    ',AXIS["Easting",EAST],AXIS["Northing",NORTH],AUTHORITY["EPSG","9214"]]')
# Used only if PROJ cannot resolve EPSG:9214 itself; the 7 parameters of "VN-2000 to WGS 84 (2)".
VN2000_HUE_PROJ4 = ("+proj=tmerc +lat_0=0 +lon_0=107 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 "
                    "+towgs84=-191.90441429,-39.30318279,-111.45032835,-0.00928836,0.01975479,"
                    "-0.00427372,0.252906278 +units=m +no_defs")


def upgrade() -> None:
    op.get_bind().exec_driver_sql(
        "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) "
        "VALUES (9214, 'EPSG', 9214, %(wkt)s, %(proj4)s) ON CONFLICT (srid) DO NOTHING",
        {"wkt": VN2000_HUE_WKT, "proj4": VN2000_HUE_PROJ4})
    op.execute("CREATE TABLE report_revision ("
               "slot smallint NOT NULL, revision uuid NOT NULL, "
               "CONSTRAINT pk_report_revision PRIMARY KEY (slot), "
               f"CONSTRAINT ck_report_revision_slot CHECK (slot >= 0 AND slot < {SLOTS}))")
    op.execute("INSERT INTO report_revision (slot, revision) "
               f"SELECT s, gen_random_uuid() FROM generate_series(0, {SLOTS - 1}) s")
    op.execute(BUMP)
    op.execute("CREATE INDEX ix_report_geom ON report USING gist (geom)")


def downgrade() -> None:
    # EPSG:9214 stays in spatial_ref_sys: it is PostGIS's table, and other data may use it.
    op.execute("DROP INDEX ix_report_geom")
    op.execute("DROP TRIGGER report_revision ON report")
    op.execute("DROP FUNCTION report_revision_bump()")
    op.execute("DROP TABLE report_revision")
