from toolkit.anomaly.native import COPOD, ECOD
from toolkit.anomaly.rules import IQR, RobustZ
from toolkit.anomaly.detectors import make_detector
from toolkit.anomaly.detect import detect, apply_threshold
from toolkit.anomaly.alarms import alarms, explain
from toolkit.anomaly.evaluate import evaluate
from toolkit.anomaly.residual import residual_anomalies
from toolkit.anomaly.domain import carrier_delays, click_fraud, inventory_shrink, order_line_anomalies
