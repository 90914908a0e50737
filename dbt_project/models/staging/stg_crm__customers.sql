with

source as (

    select * from {{ source('raw', 'crm__customers') }}

),

typed as (

    select
        trim(customer_id) as customer_id,
        nullif(trim(first_name), '') as first_name,
        nullif(trim(last_name), '') as last_name,
        nullif(lower(trim(email)), '') as email,
        upper(trim(country)) as country_code,
        try_cast(signup_date as date) as signup_date,
        try_cast(updated_at as timestamptz) at time zone 'UTC' as updated_at,
        _loaded_at as loaded_at,
        _batch_id as batch_id
    from source

),

latest as (

    -- A customer appears once per delivered export: keep the most recent version.
    select *
    from typed
    qualify row_number() over (
        partition by customer_id order by updated_at desc nulls last, loaded_at desc
    ) = 1

),

final as (

    select * from latest

)

select * from final
