"""`objects_ext`: the 64 extended object columns of Lasair for Rubin (schema 11.1), each copied
unchanged from the alert's diaObject. Lasair stores them as extra columns of `objects`, so a filter
may write `objects_ext.X` or `objects.X` for them.

Copied from `shared/lasair/objects_ext_columns.tsv` (read from github.com/lsst-uk/lasair-lsst,
common/schema/11_1, Apache-2.0).
"""
from __future__ import annotations

from typing import Any

from .columns import Column

OBJECTS_EXT_COLUMNS: tuple[Column, ...] = (
    Column('validityStartMjdTai', 'double', 'lsst', 'Rubin processing time from which this diaObject version is valid (MJD, TAI); copied unchanged from alert diaObject.validityStartMjdTai'),
    Column('raErr', 'float', 'lsst', 'Uncertainty of RA, expressed as RA*cos(Dec) (deg); copied unchanged from alert diaObject.raErr'),
    Column('decErr', 'float', 'lsst', 'Uncertainty of Dec (deg); copied unchanged from alert diaObject.decErr'),
    Column('ra_dec_Cov', 'float', 'lsst', 'RA*cos(Dec)/Dec covariance (deg^2); copied unchanged from alert diaObject.ra_dec_Cov'),
    Column('u_psfFluxSigma', 'float', 'lsst', 'Standard deviation of the u-band PSF difference fluxes (nJy); copied unchanged from alert diaObject.u_psfFluxSigma'),
    Column('u_psfFluxNdata', 'int', 'lsst', 'Count of u-band PSF flux measurements; copied unchanged from alert diaObject.u_psfFluxNdata'),
    Column('u_fpFluxMean', 'float', 'lsst', 'Weighted mean u-band forced-photometry flux (nJy); copied unchanged from alert diaObject.u_fpFluxMean'),
    Column('u_fpFluxMeanErr', 'float', 'lsst', 'Standard error of the u-band forced-photometry mean (nJy); copied unchanged from alert diaObject.u_fpFluxMeanErr'),
    Column('g_psfFluxSigma', 'float', 'lsst', 'Standard deviation of the g-band PSF difference fluxes (nJy); copied unchanged from alert diaObject.g_psfFluxSigma'),
    Column('g_psfFluxNdata', 'int', 'lsst', 'Count of g-band PSF flux measurements; copied unchanged from alert diaObject.g_psfFluxNdata'),
    Column('g_fpFluxMean', 'float', 'lsst', 'Weighted mean g-band forced-photometry flux (nJy); copied unchanged from alert diaObject.g_fpFluxMean'),
    Column('g_fpFluxMeanErr', 'float', 'lsst', 'Standard error of the g-band forced-photometry mean (nJy); copied unchanged from alert diaObject.g_fpFluxMeanErr'),
    Column('r_psfFluxSigma', 'float', 'lsst', 'Standard deviation of the r-band PSF difference fluxes (nJy); copied unchanged from alert diaObject.r_psfFluxSigma'),
    Column('r_psfFluxNdata', 'int', 'lsst', 'Count of r-band PSF flux measurements; copied unchanged from alert diaObject.r_psfFluxNdata'),
    Column('r_fpFluxMean', 'float', 'lsst', 'Weighted mean r-band forced-photometry flux (nJy); copied unchanged from alert diaObject.r_fpFluxMean'),
    Column('r_fpFluxMeanErr', 'float', 'lsst', 'Standard error of the r-band forced-photometry mean (nJy); copied unchanged from alert diaObject.r_fpFluxMeanErr'),
    Column('i_psfFluxSigma', 'float', 'lsst', 'Standard deviation of the i-band PSF difference fluxes (nJy); copied unchanged from alert diaObject.i_psfFluxSigma'),
    Column('i_psfFluxNdata', 'int', 'lsst', 'Count of i-band PSF flux measurements; copied unchanged from alert diaObject.i_psfFluxNdata'),
    Column('i_fpFluxMean', 'float', 'lsst', 'Weighted mean i-band forced-photometry flux (nJy); copied unchanged from alert diaObject.i_fpFluxMean'),
    Column('i_fpFluxMeanErr', 'float', 'lsst', 'Standard error of the i-band forced-photometry mean (nJy); copied unchanged from alert diaObject.i_fpFluxMeanErr'),
    Column('z_psfFluxSigma', 'float', 'lsst', 'Standard deviation of the z-band PSF difference fluxes (nJy); copied unchanged from alert diaObject.z_psfFluxSigma'),
    Column('z_psfFluxNdata', 'int', 'lsst', 'Count of z-band PSF flux measurements; copied unchanged from alert diaObject.z_psfFluxNdata'),
    Column('z_fpFluxMean', 'float', 'lsst', 'Weighted mean z-band forced-photometry flux (nJy); copied unchanged from alert diaObject.z_fpFluxMean'),
    Column('z_fpFluxMeanErr', 'float', 'lsst', 'Standard error of the z-band forced-photometry mean (nJy); copied unchanged from alert diaObject.z_fpFluxMeanErr'),
    Column('y_psfFluxSigma', 'float', 'lsst', 'Standard deviation of the y-band PSF difference fluxes (nJy); copied unchanged from alert diaObject.y_psfFluxSigma'),
    Column('y_psfFluxNdata', 'int', 'lsst', 'Count of y-band PSF flux measurements; copied unchanged from alert diaObject.y_psfFluxNdata'),
    Column('y_fpFluxMean', 'float', 'lsst', 'Weighted mean y-band forced-photometry flux (nJy); copied unchanged from alert diaObject.y_fpFluxMean'),
    Column('y_fpFluxMeanErr', 'float', 'lsst', 'Standard error of the y-band forced-photometry mean (nJy); copied unchanged from alert diaObject.y_fpFluxMeanErr'),
    Column('u_scienceFluxMean', 'float', 'lsst', 'Mean u-band flux on the science (direct) image per the field name; the 11_1 docstring reuses the forced-photometry wording (nJy); copied unchanged from alert diaObject.u_scienceFluxMean'),
    Column('u_scienceFluxMeanErr', 'float', 'lsst', 'Standard error of the u-band science-flux mean (nJy); copied unchanged from alert diaObject.u_scienceFluxMeanErr'),
    Column('g_scienceFluxMean', 'float', 'lsst', 'Mean g-band flux on the science (direct) image per the field name; the 11_1 docstring reuses the forced-photometry wording (nJy); copied unchanged from alert diaObject.g_scienceFluxMean'),
    Column('g_scienceFluxMeanErr', 'float', 'lsst', 'Standard error of the g-band science-flux mean (nJy); copied unchanged from alert diaObject.g_scienceFluxMeanErr'),
    Column('r_scienceFluxMean', 'float', 'lsst', 'Mean r-band flux on the science (direct) image per the field name; the 11_1 docstring reuses the forced-photometry wording (nJy); copied unchanged from alert diaObject.r_scienceFluxMean'),
    Column('r_scienceFluxMeanErr', 'float', 'lsst', 'Standard error of the r-band science-flux mean (nJy); copied unchanged from alert diaObject.r_scienceFluxMeanErr'),
    Column('i_scienceFluxMean', 'float', 'lsst', 'Mean i-band flux on the science (direct) image per the field name; the 11_1 docstring reuses the forced-photometry wording (nJy); copied unchanged from alert diaObject.i_scienceFluxMean'),
    Column('i_scienceFluxMeanErr', 'float', 'lsst', 'Standard error of the i-band science-flux mean (nJy); copied unchanged from alert diaObject.i_scienceFluxMeanErr'),
    Column('z_scienceFluxMean', 'float', 'lsst', 'Mean z-band flux on the science (direct) image per the field name; the 11_1 docstring reuses the forced-photometry wording (nJy); copied unchanged from alert diaObject.z_scienceFluxMean'),
    Column('z_scienceFluxMeanErr', 'float', 'lsst', 'Standard error of the z-band science-flux mean (nJy); copied unchanged from alert diaObject.z_scienceFluxMeanErr'),
    Column('y_scienceFluxMean', 'float', 'lsst', 'Mean y-band flux on the science (direct) image per the field name; the 11_1 docstring reuses the forced-photometry wording (nJy); copied unchanged from alert diaObject.y_scienceFluxMean'),
    Column('y_scienceFluxMeanErr', 'float', 'lsst', 'Standard error of the y-band science-flux mean (nJy); copied unchanged from alert diaObject.y_scienceFluxMeanErr'),
    Column('u_psfFluxMin', 'float', 'lsst', 'Smallest u-band PSF flux seen (nJy); copied unchanged from alert diaObject.u_psfFluxMin'),
    Column('u_psfFluxMax', 'float', 'lsst', 'Largest u-band PSF flux seen (nJy); copied unchanged from alert diaObject.u_psfFluxMax'),
    Column('u_psfFluxMaxSlope', 'float', 'lsst', 'Largest flux change per day between u-band measurements (nJy/d); copied unchanged from alert diaObject.u_psfFluxMaxSlope'),
    Column('u_psfFluxErrMean', 'float', 'lsst', 'Average of the u-band PSF flux errors (nJy); copied unchanged from alert diaObject.u_psfFluxErrMean'),
    Column('g_psfFluxMin', 'float', 'lsst', 'Smallest g-band PSF flux seen (nJy); copied unchanged from alert diaObject.g_psfFluxMin'),
    Column('g_psfFluxMax', 'float', 'lsst', 'Largest g-band PSF flux seen (nJy); copied unchanged from alert diaObject.g_psfFluxMax'),
    Column('g_psfFluxMaxSlope', 'float', 'lsst', 'Largest flux change per day between g-band measurements (nJy/d); copied unchanged from alert diaObject.g_psfFluxMaxSlope'),
    Column('g_psfFluxErrMean', 'float', 'lsst', 'Average of the g-band PSF flux errors (nJy); copied unchanged from alert diaObject.g_psfFluxErrMean'),
    Column('r_psfFluxMin', 'float', 'lsst', 'Smallest r-band PSF flux seen (nJy); copied unchanged from alert diaObject.r_psfFluxMin'),
    Column('r_psfFluxMax', 'float', 'lsst', 'Largest r-band PSF flux seen (nJy); copied unchanged from alert diaObject.r_psfFluxMax'),
    Column('r_psfFluxMaxSlope', 'float', 'lsst', 'Largest flux change per day between r-band measurements (nJy/d); copied unchanged from alert diaObject.r_psfFluxMaxSlope'),
    Column('r_psfFluxErrMean', 'float', 'lsst', 'Average of the r-band PSF flux errors (nJy); copied unchanged from alert diaObject.r_psfFluxErrMean'),
    Column('i_psfFluxMin', 'float', 'lsst', 'Smallest i-band PSF flux seen (nJy); copied unchanged from alert diaObject.i_psfFluxMin'),
    Column('i_psfFluxMax', 'float', 'lsst', 'Largest i-band PSF flux seen (nJy); copied unchanged from alert diaObject.i_psfFluxMax'),
    Column('i_psfFluxMaxSlope', 'float', 'lsst', 'Largest flux change per day between i-band measurements (nJy/d); copied unchanged from alert diaObject.i_psfFluxMaxSlope'),
    Column('i_psfFluxErrMean', 'float', 'lsst', 'Average of the i-band PSF flux errors (nJy); copied unchanged from alert diaObject.i_psfFluxErrMean'),
    Column('z_psfFluxMin', 'float', 'lsst', 'Smallest z-band PSF flux seen (nJy); copied unchanged from alert diaObject.z_psfFluxMin'),
    Column('z_psfFluxMax', 'float', 'lsst', 'Largest z-band PSF flux seen (nJy); copied unchanged from alert diaObject.z_psfFluxMax'),
    Column('z_psfFluxMaxSlope', 'float', 'lsst', 'Largest flux change per day between z-band measurements (nJy/d); copied unchanged from alert diaObject.z_psfFluxMaxSlope'),
    Column('z_psfFluxErrMean', 'float', 'lsst', 'Average of the z-band PSF flux errors (nJy); copied unchanged from alert diaObject.z_psfFluxErrMean'),
    Column('y_psfFluxMin', 'float', 'lsst', 'Smallest y-band PSF flux seen (nJy); copied unchanged from alert diaObject.y_psfFluxMin'),
    Column('y_psfFluxMax', 'float', 'lsst', 'Largest y-band PSF flux seen (nJy); copied unchanged from alert diaObject.y_psfFluxMax'),
    Column('y_psfFluxMaxSlope', 'float', 'lsst', 'Largest flux change per day between y-band measurements (nJy/d); copied unchanged from alert diaObject.y_psfFluxMaxSlope'),
    Column('y_psfFluxErrMean', 'float', 'lsst', 'Average of the y-band PSF flux errors (nJy); copied unchanged from alert diaObject.y_psfFluxErrMean'),
)

OBJECTS_EXT_NAMES: tuple[str, ...] = tuple(c.name for c in OBJECTS_EXT_COLUMNS)

_INT_COLUMNS = frozenset(c.name for c in OBJECTS_EXT_COLUMNS if c.sql_type == "int")


def objects_ext_values(dia_object: dict[str, Any] | None) -> dict[str, Any]:
    """The 64 columns for an alert, copied from its diaObject: NaN or absent as NULL, int columns as int."""
    source = dia_object or {}
    values: dict[str, Any] = {}
    for name in OBJECTS_EXT_NAMES:
        v = source.get(name)
        if v is None or v - v != 0:  # NaN or an infinity: NULL, as everywhere in a row
            values[name] = None
        else:
            values[name] = int(v) if name in _INT_COLUMNS else v
    return values
