"""Routes for the uploads domain (filled in by its issue)."""

from fastapi import APIRouter

router = APIRouter()
