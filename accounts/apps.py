from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and ledger"

    def ready(self) -> None:
        # This app's recorded jobs, by the names task messages and run_job use.
        from accounts.crediting import contribution_collection_execute, crediting_run_execute
        from accounts.models import ContributionCollection, CreditingRun
        from common.jobs import job_type_register

        job_type_register(
            name="collection",
            model=ContributionCollection,
            execute=lambda job_id, progress: contribution_collection_execute(
                collection_id=job_id, progress=progress
            ),
        )
        job_type_register(
            name="crediting",
            model=CreditingRun,
            execute=lambda job_id, progress: crediting_run_execute(
                run_id=job_id, progress=progress
            ),
        )
