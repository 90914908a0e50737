{#-
    Email engagement before the as-of date, one row per person and campaign: which of sent,
    delivered, opened, clicked, bounced and unsubscribed happened, when first, and how many
    opens and clicks. The person is the recipient email's; an address no person has is left
    out. An open or a click proves delivery, so it counts as delivered even when the
    platform's delivery receipt is missing (rates per delivered then stay within 0–1).
    Counts are bigint.
-#}
with

email_events as (

    select * from {{ ref('stg_email__events') }}

),

identifiers as (

    select * from {{ ref('person_identifiers') }}

),

email_people as (

    select
        identifier_value as email,
        person_id
    from identifiers
    where identifier_type = 'email'

),

events as (

    select
        email_people.person_id,
        email_events.campaign_id,
        email_events.event_type,
        email_events.occurred_at
    from email_events
    inner join email_people
        on email_events.email = email_people.email
    where
        email_events.occurred_at < {{ as_of_timestamp() }}
        and email_events.campaign_id is not null

),

per_campaign as (

    select
        person_id,
        campaign_id,
        min(case when event_type = 'sent' then occurred_at end) as first_sent_at,
        min(case when event_type = 'delivered' then occurred_at end) as first_delivered_at,
        min(case when event_type = 'open' then occurred_at end) as first_opened_at,
        min(case when event_type = 'click' then occurred_at end) as first_clicked_at,
        min(case when event_type = 'bounce' then occurred_at end) as first_bounced_at,
        min(case when event_type = 'unsubscribe' then occurred_at end) as first_unsubscribed_at,
        min(occurred_at) as first_event_at,
        max(occurred_at) as last_event_at,
        sum(case when event_type = 'open' then 1 else 0 end) as opens,
        sum(case when event_type = 'click' then 1 else 0 end) as clicks
    from events
    group by person_id, campaign_id

),

final as (

    select
        {{ dbt.hash(dbt.concat(['person_id', "'|'", 'campaign_id'])) }}
            as email_engagement_id,
        person_id,
        campaign_id,
        first_sent_at is not null as is_sent,
        (
            first_delivered_at is not null
            or first_opened_at is not null
            or first_clicked_at is not null
        ) as is_delivered,
        first_opened_at is not null as is_opened,
        first_clicked_at is not null as is_clicked,
        first_bounced_at is not null as is_bounced,
        first_unsubscribed_at is not null as is_unsubscribed,
        first_sent_at,
        first_delivered_at,
        first_opened_at,
        first_clicked_at,
        first_bounced_at,
        first_unsubscribed_at,
        first_event_at,
        last_event_at,
        cast(opens as bigint) as opens,
        cast(clicks as bigint) as clicks
    from per_campaign

)

select * from final
