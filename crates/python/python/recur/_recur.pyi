"""Type stubs of the native module ``recur._recur``."""

from os import PathLike
from typing import Callable, Optional, Union

Path = Union[str, PathLike[str]]

def train(
    train: Optional[str],
    out: str,
    *,
    valid: Optional[str] = None,
    test: Optional[str] = None,
    preset: Optional[str] = None,
    seed: int = 0,
    resume: bool = False,
    progress: Union[bool, Callable[[int, int, int], None]] = True,
    options: Optional[dict] = None,
) -> dict: ...
def load(path: str) -> Run: ...
def option_names() -> list[tuple[str, str]]: ...

class Run:
    @property
    def path(self) -> str: ...
    @property
    def task(self) -> str: ...
    @property
    def classes(self) -> list[str]: ...
    def predict_proba(self, texts: list[str]) -> list[list[float]]: ...
    def evaluate_file(self, path: str, batch_size: int = 16) -> dict: ...
    def evaluate_texts(self, texts: list[str], labels: list[str], batch_size: int = 16) -> dict: ...
    def export_onnx(self, path: str) -> None: ...
    def generate(
        self,
        prompt: str = "",
        words: int = 50,
        temperature: float = 1.0,
        top_k: Optional[int] = None,
        seed: int = 0,
    ) -> str: ...
    def perplexity(self, texts: list[str]) -> float: ...
