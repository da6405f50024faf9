"""The columns of Lasair's `objects` table: what user filters are written against.

Copied from `shared/lasair/objects_columns.tsv` (Lasair for Rubin, schema 11.1, read from
github.com/lsst-uk/lasair-lsst common/schema/11_1/objects.py, Apache-2.0). The filter compiler
refuses any other name; the feature code fills every one of them (NULL where it cannot).
"""
from __future__ import annotations

from typing import NamedTuple


class Column(NamedTuple):
    name: str
    sql_type: str  # long, double, float, int, string, timestamp
    origin: str  # lsst (from diaObject), lasair (computed here), external (outside data)
    description: str


COLUMNS: tuple[Column, ...] = (
    Column('diaObjectId', 'long', 'lsst', 'ID for this object'),
    Column('ra', 'double', 'lsst', 'Mean RA of this object'),
    Column('decl', 'double', 'lsst', 'Mean Dec of this object'),
    Column('lastDiaSourceMjdTai', 'double', 'lsst', 'Latest MJD of a diaSource'),
    Column('firstDiaSourceMjdTai', 'double', 'lsst', 'Earliest MJD of a diaSource'),
    Column('latest_psfFlux', 'float', 'lasair', 'Latest flux of any band (nJy)'),
    Column('u_psfFlux', 'float', 'lasair', 'Latest u flux (nJy)'),
    Column('u_latestMJD', 'float', 'lasair', 'MJD of Latest u flux'),
    Column('u_psfFluxMean', 'float', 'lsst', 'Weighted mean point-source model flux for u filter. (nJy)'),
    Column('u_psfFluxMeanErr', 'float', 'lsst', 'Standard error of u_psfFluxMean. (nJy)'),
    Column('g_psfFlux', 'float', 'lasair', 'Latest g flux (nJy)'),
    Column('g_latestMJD', 'float', 'lasair', 'MJD of Latest g flux'),
    Column('g_psfFluxMean', 'float', 'lsst', 'Weighted mean point-source model flux for g filter. (nJy)'),
    Column('g_psfFluxMeanErr', 'float', 'lsst', 'Standard error of g_psfFluxMean. (nJy)'),
    Column('r_psfFlux', 'float', 'lasair', 'Latest r flux (nJy)'),
    Column('r_latestMJD', 'float', 'lasair', 'MJD of Latest r flux'),
    Column('r_psfFluxMean', 'float', 'lsst', 'Weighted mean point-source model flux for r filter. (nJy)'),
    Column('r_psfFluxMeanErr', 'float', 'lsst', 'Standard error of r_psfFluxMean. (nJy)'),
    Column('i_psfFlux', 'float', 'lasair', 'Latest i flux (nJy)'),
    Column('i_latestMJD', 'float', 'lasair', 'MJD of Latest i flux'),
    Column('i_psfFluxMean', 'float', 'lsst', 'Weighted mean point-source model flux for i filter. (nJy)'),
    Column('i_psfFluxMeanErr', 'float', 'lsst', 'Standard error of i_psfFluxMean. (nJy)'),
    Column('z_psfFlux', 'float', 'lasair', 'Latest z flux (nJy)'),
    Column('z_latestMJD', 'float', 'lasair', 'MJD of Latest z flux'),
    Column('z_psfFluxMean', 'float', 'lsst', 'Weighted mean point-source model flux for z filter. (nJy)'),
    Column('z_psfFluxMeanErr', 'float', 'lsst', 'Standard error of z_psfFluxMean. (nJy)'),
    Column('y_psfFlux', 'float', 'lasair', 'Latest y flux (nJy)'),
    Column('y_latestMJD', 'float', 'lasair', 'MJD of Latest y flux'),
    Column('y_psfFluxMean', 'float', 'lsst', 'Weighted mean point-source model flux for y filter. (nJy)'),
    Column('y_psfFluxMeanErr', 'float', 'lsst', 'Standard error of y_psfFluxMean. (nJy)'),
    Column('medianR', 'float', 'lasair', 'Median of reliability for the diaSources in this diaObject'),
    Column('latestR', 'float', 'lasair', 'Most recent reliability for the diaSources in this diaObject'),
    Column('nDiaSources', 'int', 'lsst', 'Number of diaSources associated with this diaObject'),
    Column('nPosDiaSources', 'int', 'lasair', 'Number of diaSources with positive flux associated with this diaObject'),
    Column('nPosDiaSourcesNights', 'int', 'lasair', 'Number of nights on which this object was detected with positive flux'),
    Column('nSourcesGood', 'int', 'lasair', 'Number sources with reliability > 0.5'),
    Column('nuSources', 'int', 'lasair', 'Number of u sources'),
    Column('ngSources', 'int', 'lasair', 'Number of g sources'),
    Column('nrSources', 'int', 'lasair', 'Number of r sources'),
    Column('niSources', 'int', 'lasair', 'Number of i sources'),
    Column('nzSources', 'int', 'lasair', 'Number of z sources'),
    Column('nySources', 'int', 'lasair', 'Number of y sources'),
    Column('tns_name', 'string', 'external', 'TNS name of this object if it exists'),
    Column('absMag', 'float', 'lasair', 'Peak absolute magnitude (extinction corrected) if host galaxy with distance available'),
    Column('absMagMJD', 'float', 'lasair', 'Peak absolute magnitude time if host galaxy with distance available'),
    Column('BBBRiseRate', 'float', 'lasair', 'Fitted Bazin or Exp rise rate'),
    Column('BBBFallRate', 'float', 'lasair', 'Fitted Bazin fall rate or NULL if Exp'),
    Column('BBBTemp', 'float', 'lasair', 'Fitted Bazin temperature, (kiloKelvins)'),
    Column('BBBPeakFlux', 'float', 'lasair', 'If Bazin fit, the peak flux (nJy), else NULL'),
    Column('BBBPeakMJD', 'float', 'lasair', 'If Bazin fit, the time of the peak brightness, else NULL'),
    Column('BBBPeakAbsMag', 'float', 'lasair', 'If Bazin fit and Sherlock host with distance, the peak absolute magnitude, else NULL'),
    Column('glat', 'float', 'lasair', 'Galactic latitude'),
    Column('ebv', 'float', 'lasair', 'Extinction E(B-V) Schlegel, Finkbeiner & Davis (1998)'),
    Column('jump1', 'float', 'lasair', 'Largest sigma jump of recent flux from previous -70 to -10  days'),
    Column('jump2', 'float', 'lasair', 'Largest sigma jump of recent flux in different band from previous -70 to -10  days'),
    Column('latestPairMJD', 'float', 'lasair', 'Latest pair MJD'),
    Column('latestPairColourMag', 'float', 'lasair', 'Magnitude difference from latest pair'),
    Column('latestPairColourBands', 'string', 'lasair', 'Bands used for latest pair colour, eg g-r, u-r'),
    Column('latestPairColourTemp', 'float', 'lasair', 'Extinction corrected blackbody fit temperature from latest pair, kiloKelvin'),
    Column('penultimatePairMJD', 'float', 'lasair', 'Penultimate pair MJD'),
    Column('penultimatePairColourMag', 'float', 'lasair', 'Magnitude difference from Penultimate pair'),
    Column('penultimatePairColourBands', 'string', 'lasair', 'Bands used for penultimate pair colour, eg g-r, u-r'),
    Column('penultimatePairColourTemp', 'float', 'lasair', 'Extinction corrected blackbody fit temperature from penultimate pair, kiloKelvin'),
    Column('htm16', 'long', 'lasair', 'Hierarchical Triangular Mesh level 16'),
    Column('timestamp', 'timestamp', 'external', 'Time at which this object last modified'),
)

COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
COLUMN_TYPES: dict[str, str] = {c.name: c.sql_type for c in COLUMNS}
STRING_COLUMNS: frozenset[str] = frozenset(c.name for c in COLUMNS if c.sql_type in ("string", "timestamp"))
INTEGER_COLUMNS: frozenset[str] = frozenset(c.name for c in COLUMNS if c.sql_type in ("int", "long"))
# lsst column -> the diaObject field it is copied from (`decl` <- `dec`).
FROM_DIA_OBJECT: dict[str, str] = {c.name: ("dec" if c.name == "decl" else c.name) for c in COLUMNS if c.origin == "lsst"}
