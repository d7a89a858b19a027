"""Courses, lessons and questions, synced from the lessons folder and shared by every workspace."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.models.base import instant


class Course(SQLModel, table=True):
    __tablename__ = "course"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=100, unique=True)
    title: str = Field(max_length=150)
    description: str = Field(default="", max_length=300)
    skills: list[str] = Field(default_factory=list, sa_type=JSON)
    content_hash: str = Field(default="", max_length=64)
    retired: bool = False
    synced_at: datetime = instant()


class Lesson(SQLModel, table=True):
    __tablename__ = "lesson"
    __table_args__ = (UniqueConstraint("course_id", "slug"),)

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id")
    slug: str = Field(max_length=100)
    position: int
    title: str = Field(max_length=150)
    objective: str = Field(default="", max_length=500)
    minutes: int = 3
    content_hash: str = Field(default="", max_length=64)
    retired: bool = False


class Question(SQLModel, table=True):
    __tablename__ = "question"
    __table_args__ = (UniqueConstraint("lesson_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    lesson_id: int = Field(foreign_key="lesson.id")
    position: int
    kind: str = Field(max_length=16)
    text: str = Field(max_length=3000)
    retired: bool = False
