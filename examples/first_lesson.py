"""The first lesson: logistic regression on zeros and ones, trained through a minigraph graph.

    python examples/first_lesson.py                         # scikit-learn's bundled digits
    python examples/first_lesson.py path/to/sign-language   # the Sign Language Digits set
"""

import sys

from sklearn.model_selection import train_test_split

from minigraph.models import LogisticRegression
from minigraph.models.datasets import load_digits_binary, load_sign_language_digits

if len(sys.argv) > 1:
    X, y = load_sign_language_digits(sys.argv[1], digits=(0, 1), max_per_digit=205)
else:
    X, y = load_digits_binary()
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.15, random_state=42)

model = LogisticRegression(learning_rate=0.01, iterations=150).fit(X_train, y_train)
for iteration in range(0, 150, 50):
    print(f"cost after iteration {iteration}: {model.cost_history_[iteration]:.6f}")
print(f"train accuracy {model.score(X_train, y_train):.2%}, test accuracy {model.score(X_test, y_test):.2%}")
print(model.graph_)
