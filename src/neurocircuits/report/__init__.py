"""Results tables, environment capture, plots and the Markdown report writer."""

from neurocircuits.report.env import environment
from neurocircuits.report import stats
from neurocircuits.report.table import ResultTable, Summary
from neurocircuits.report.markdown import write_report

__all__ = ["ResultTable", "Summary", "environment", "stats", "write_report"]
