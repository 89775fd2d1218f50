"""Data sets and loaders (MNIST; C. elegans whole-brain recordings; NeuroGym-style tasks)."""

from neurocircuits.data.mnist import MNISTSplits, mnist
from neurocircuits.data.neurogym_tasks import TASKS, Task, get_task, StudentTeacher, smnist, smnist_stream, stream_generator, student_teacher
from neurocircuits.data.paths import shared_data_dir

__all__ = ["MNISTSplits", "TASKS", "Task", "get_task", "mnist", "shared_data_dir", "smnist", "smnist_stream", "stream_generator",
           "StudentTeacher", "student_teacher"]
