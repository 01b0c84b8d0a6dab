"""Routes for the pages domain (filled in by its issue)."""

from fastapi import APIRouter

router = APIRouter()
