"""The context tables a filter may join beside `objects`, with Lasair's columns and types.

Each is joined to `objects` on diaObjectId: every row of a context table belongs to one object
(crossmatch_tns rows to the objects within the TNS match radius). Column lists copied from
`shared/lasair/*_columns.tsv` (Lasair for Rubin, schema 11.1, github.com/lsst-uk/lasair-lsst,
Apache-2.0). Types are Lasair's: long/int (BIGINT/INT), double/float, string (VARCHAR/TEXT),
timestamp (DATETIME), json (JSON).
"""
from __future__ import annotations

from typing import NamedTuple

from pipeline.features.columns import Column


class ContextTable(NamedTuple):
    name: str
    description: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


SHERLOCK_CLASSIFICATIONS = ContextTable('sherlock_classifications', 'one row per object: the contextual classification of its position (Sherlock)', (
    Column('diaObjectId', 'long', 'context', 'Rubin diaObject id; join key to objects (primary key; one row per object)'),
    Column('classification', 'string', 'context', 'Top-ranked Sherlock class of the object: AGN, BS, CV, NT, ORPHAN, SN, UNCLEAR, VS (HPMS also possible with Sherlock 3.1 settings); NULL if absent'),
    Column('association_type', 'string', 'context', 'Association type of the rank-1 merged crossmatch (same vocabulary); absent for ORPHAN'),
    Column('catalogue_table_name', 'string', 'context', 'Catalogue (or slash-joined list of catalogues) that supplied the best match'),
    Column('catalogue_object_id', 'string', 'context', 'Identifier of the matched source in that catalogue (spaces removed)'),
    Column('catalogue_object_type', 'string', 'context', 'Object type of the matched catalogue view (e.g. galaxy, star, qso), from Sherlock\'s catalogue column map'),
    Column('raDeg', 'double', 'context', 'RA (deg) of the matched catalogue source as returned by Sherlock (closest member of a merged group)'),
    Column('decDeg', 'double', 'context', 'Dec (deg) of the matched catalogue source as returned by Sherlock'),
    Column('separationArcsec', 'float', 'context', 'Angular distance (arcsec) between object position and matched source'),
    Column('northSeparationArcsec', 'float', 'context', 'North component of the offset (arcsec)'),
    Column('eastSeparationArcsec', 'float', 'context', 'East component of the offset (arcsec)'),
    Column('physical_separation_kpc', 'float', 'context', 'Projected separation in kpc: separation x direct-distance scale, else x spec-z angular-diameter scale; NULL otherwise'),
    Column('direct_distance', 'float', 'context', 'Redshift-independent distance of the match (Mpc) if the catalogue has one'),
    Column('distance', 'float', 'context', 'Deprecated; Lasair fills it with best_distance'),
    Column('best_distance', 'float', 'context', 'First available of direct distance, spec-z luminosity distance, photo-z luminosity distance (Mpc)'),
    Column('best_distance_flag', 'string', 'context', 'Which distance was used: dd (direct), sz (spec-z), pz (photo-z)'),
    Column('best_distance_source', 'string', 'context', 'Catalogue that provided best_distance'),
    Column('z', 'float', 'context', 'Spectroscopic redshift of the match, if any'),
    Column('photoZ', 'float', 'context', 'Photometric redshift of the match, if any'),
    Column('photoZErr', 'float', 'context', 'Uncertainty on photoZ (cleared when photoZ is empty)'),
    Column('Mag', 'float', 'context', 'Catalogue magnitude of the match, first non-null in Sherlock\'s band preference list'),
    Column('MagFilter', 'string', 'context', 'Band name of Mag (underscores and \'Mag\' stripped)'),
    Column('MagErr', 'float', 'context', 'Error on Mag when the catalogue gives one'),
    Column('classificationReliability', 'int', 'context', '1 = synonym match, 2 = association, 3 = annotation-only match'),
    Column('major_axis_arcsec', 'float', 'context', 'Angular size of associated galaxy (arcsec); note Sherlock 3.1 lite output names this key sm_axis_arcsec, so it may stay NULL'),
    Column('annotator', 'string', 'context', 'Set by Lasair\'s wrapper to the Sherlock release URL (version string)'),
    Column('additional_output', 'string', 'context', 'Set by Lasair\'s wrapper to the Lasair Sherlock-object API URL for this id'),
    Column('description', 'string', 'context', 'Human-readable sentence describing the context (Sherlock\'s second classification element); \'no description\' if none'),
    Column('summary', 'string', 'context', 'Short summary text; no code path in the LSST wrapper was found that fills it'),
))

CROSSMATCH_TNS = ContextTable('crossmatch_tns', 'Transient Name Server objects within the match radius of the object', (
    Column('diaObjectId', 'long', 'context', 'Matched object: the TNS object lies within the match radius of its position (this engine\'s link; Lasair joins through watchlist_hits)'),
    Column('ra', 'double', 'context', 'TNS right ascension (deg), from CSV column ra'),
    Column('decl', 'double', 'context', 'TNS declination (deg), from CSV column declination'),
    Column('tns_name', 'string', 'context', 'TNS designation without prefix, e.g. 2021iru; from CSV name; joins watchlist_hits.name; indexed'),
    Column('tns_prefix', 'string', 'context', 'AT, SN, etc.; from CSV name_prefix; a change triggers re-insert of the row'),
    Column('disc_mag', 'float', 'context', 'Discovery magnitude; CSV discoverymag (empty -> NULL)'),
    Column('disc_mag_filter', 'string', 'context', 'Band of discovery magnitude; CSV filter'),
    Column('type', 'string', 'context', 'Spectroscopic type string such as \'SN Ia\'; CSV type'),
    Column('z', 'float', 'context', 'Redshift; CSV redshift (empty -> NULL)'),
    Column('hostz', 'float', 'context', 'Host redshift; default NULL, not populated by poll_tns'),
    Column('host_name', 'string', 'context', 'Host galaxy name; default NULL, not populated'),
    Column('ext_catalogs', 'string', 'context', 'External catalogues; default NULL, not populated'),
    Column('disc_int_name', 'string', 'context', 'Discoverers\' internal names; CSV internal_names, cut to 75 chars plus \'...\', non-ASCII replaced'),
    Column('disc_date', 'timestamp', 'context', 'Discovery date; CSV discoverydate'),
    Column('lastmodified_date', 'timestamp', 'context', 'TNS last-modified time; CSV lastmodified'),
    Column('sender', 'string', 'context', 'Reporting group; CSV reporting_group cut to 12 chars plus \'...\''),
    Column('reporters', 'string', 'context', 'Reporter list; CSV reporters, ASCII-only, quotes removed, cut to 75 chars'),
    Column('source_group', 'string', 'context', 'Source group; CSV source_group, first 16 chars'),
    Column('htm16', 'long', 'context', 'HTM level-16 id computed by Lasair from (ra, decl); indexed'),
    Column('lasairmodified_date', 'timestamp', 'context', 'Row modification time, MySQL auto timestamp'),
))

WATCHLIST_HITS = ContextTable('watchlist_hits', 'one row per (object, watchlist cone) the object lies in', (
    Column('diaObjectId', 'long', 'context', 'Matched object; part of primary key (diaObjectId, cone_id)'),
    Column('wl_id', 'int', 'context', 'Watchlist id (watchlists.wl_id); the TNS watchlist uses settings.TNS_WATCHLIST_ID'),
    Column('cone_id', 'long', 'context', 'Cone id (watchlist_cones.cone_id); part of primary key'),
    Column('arcsec', 'float', 'context', 'Object-to-cone-centre distance in arcsec (flat-sky approximation in the real-time path)'),
    Column('name', 'string', 'context', 'User-supplied cone name (for TNS: the TNS name without prefix)'),
))

AREA_HITS = ContextTable('area_hits', 'one row per (object, area) the object lies in', (
    Column('diaObjectId', 'long', 'context', 'Object found inside the area MOC; declared sole primary key in schema 11_1'),
    Column('ar_id', 'int', 'context', 'Area (watchmap) id, areas.ar_id'),
))

ANNOTATIONS = ContextTable('annotations', 'the latest annotation per (object, annotator topic)', (
    Column('diaObjectId', 'long', 'context', 'Annotated object; (diaObjectId, topic) declared UNIQUE so one annotation per object per annotator'),
    Column('topic', 'string', 'context', 'Annotator name (annotators.topic); indexed'),
    Column('version', 'string', 'context', 'Version string of the annotating software'),
    Column('timestamp', 'timestamp', 'context', 'Insert/update time, MySQL auto timestamp'),
    Column('classification', 'string', 'context', 'Short classification label (API caps it at 80 chars)'),
    Column('explanation', 'string', 'context', 'Free-text explanation (API caps at 1024 chars)'),
    Column('classdict', 'json', 'context', 'Machine-readable JSON payload; queried with JSON_EXTRACT (API caps the string at 4096 chars)'),
    Column('url', 'string', 'context', 'Link to more information (API caps at 1024 chars)'),
))

CONTEXT_TABLES: dict[str, ContextTable] = {t.name: t for t in (SHERLOCK_CLASSIFICATIONS, CROSSMATCH_TNS, WATCHLIST_HITS, AREA_HITS, ANNOTATIONS)}

# The tables some source in every worker fills (pipeline/context/sources_*.py): filters may join
# these; a filter joining another is refused at save time, naming it.
AVAILABLE_TABLES: frozenset[str] = frozenset(CONTEXT_TABLES)  # every one has a source now
