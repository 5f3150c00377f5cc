import datetime
import os

week = datetime.date.today().isocalendar().week
print(f"writing weekly report for week {week} to bucket {os.environ.get('REPORT_BUCKET', 'reports')}")
