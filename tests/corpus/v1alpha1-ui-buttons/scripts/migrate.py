import sys

direction = sys.argv[1] if len(sys.argv) > 1 else "up"
steps = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] else 1
print(f"would migrate {direction} by {steps} step(s)")
