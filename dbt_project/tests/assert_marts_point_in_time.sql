-- Point-in-time: no mart holds a fact at or after midnight UTC of the as-of date, no feature
-- snapshot one at or after midnight UTC of its row's date, every as-of-date column of the
-- marts names the run's date and customer_features' only the snapshot dates. A row here
-- names the model and column that leak.
with

checks as (

    select
        'fct_orders.ordered_at' as leak,
        max(ordered_at) as latest
    from {{ ref('fct_orders') }}
    union all
    select
        'fct_sessions.ended_at' as leak,
        max(ended_at) as latest
    from {{ ref('fct_sessions') }}
    union all
    select
        'fct_email_engagement.last_event_at' as leak,
        max(last_event_at) as latest
    from {{ ref('fct_email_engagement') }}
    union all
    select
        'customer_rfm.last_ordered_at' as leak,
        max(last_ordered_at) as latest
    from {{ ref('customer_rfm') }}
    union all
    select
        'customer_engagement.last_session_at' as leak,
        max(last_session_at) as latest
    from {{ ref('customer_engagement') }}
    union all
    select
        'customer_engagement.last_email_event_at' as leak,
        max(last_email_event_at) as latest
    from {{ ref('customer_engagement') }}
    union all
    select
        'customer_lifecycle.last_ordered_at' as leak,
        max(last_ordered_at) as latest
    from {{ ref('customer_lifecycle') }}

),

snapshot_leaks as (

    select
        'int_features__rfm.last_ordered_at' as leak,
        max(last_ordered_at) as latest
    from {{ ref('int_features__rfm') }}
    where last_ordered_at >= cast(as_of_date as timestamp)
    union all
    select
        'int_features__engagement.last_session_at' as leak,
        max(last_session_at) as latest
    from {{ ref('int_features__engagement') }}
    where last_session_at >= cast(as_of_date as timestamp)
    union all
    select
        'int_features__engagement.last_email_event_at' as leak,
        max(last_email_event_at) as latest
    from {{ ref('int_features__engagement') }}
    where last_email_event_at >= cast(as_of_date as timestamp)

),

as_of_dates as (

    select distinct as_of_date from {{ ref('customer_rfm') }}
    union
    select distinct as_of_date from {{ ref('customer_engagement') }}
    union
    select distinct as_of_date from {{ ref('customer_lifecycle') }}

),

snapshot_dates as (

    select as_of_date from {{ ref('int_features__as_of_dates') }}

),

feature_dates as (

    select distinct as_of_date from {{ ref('customer_features') }}

)

select
    leak,
    cast(latest as {{ dbt.type_string() }}) as detail
from checks
where latest >= {{ as_of_timestamp() }}
union all
select
    'as_of_date' as leak,
    cast(as_of_date as {{ dbt.type_string() }}) as detail
from as_of_dates
where as_of_date != {{ as_of_date() }}
union all
select
    leak,
    cast(latest as {{ dbt.type_string() }}) as detail
from snapshot_leaks
where latest is not null
union all
select
    'customer_features.as_of_date' as leak,
    cast(feature_dates.as_of_date as {{ dbt.type_string() }}) as detail
from feature_dates
left join snapshot_dates
    on feature_dates.as_of_date = snapshot_dates.as_of_date
where snapshot_dates.as_of_date is null
